'use strict';
// Popular times: the usual day of a zone or of the space as one bar per
// hour, drawn as SVG. Each bar is the usual number of people; a thin line
// spans its low and high. The current hour's bar is marked, and the live
// count shows as a dot over it. Hours without records have no bar at all:
// they are closed hours, not empty ones.
window.PopularTimes = (function () {
    const SVG_NS = 'http://www.w3.org/2000/svg';
    const WIDTH = 288;
    const HEIGHT = 96;
    const TOP = 8;
    const AXIS = 14;
    const SLOT = WIDTH / 24;

    function svgElement(name, attributes) {
        const element = document.createElementNS(SVG_NS, name);
        for (const [key, value] of Object.entries(attributes)) {
            element.setAttribute(key, value);
        }
        return element;
    }

    function hourLabel(hour) {
        return String(hour).padStart(2, '0') + ':00';
    }

    function describe(row) {
        return hourLabel(row.hour) + ': usually ' + row.average +
            ' (from ' + row.low + ' to ' + row.high + ', ' +
            row.samples + ' counts)';
    }

    function bar(row, y, isNow) {
        const group = svgElement('g', {
            class: isNow ? 'hour now' : 'hour',
            'data-hour': row.hour
        });
        const x = row.hour * SLOT;
        const top = y(row.average);
        group.appendChild(svgElement('rect', {
            class: 'bar',
            x: x + 1,
            y: top,
            width: SLOT - 2,
            height: Math.max(y(0) - top, 1)
        }));
        group.appendChild(svgElement('line', {
            class: 'range',
            x1: x + SLOT / 2,
            x2: x + SLOT / 2,
            y1: y(row.low),
            y2: y(row.high)
        }));
        const title = svgElement('title', {});
        title.textContent = describe(row);
        group.appendChild(title);
        return group;
    }

    function axis(svg, currentHour) {
        for (const hour of [0, 6, 12, 18]) {
            const label = svgElement('text', {
                class: 'tick', x: hour * SLOT + 1, y: HEIGHT - 2
            });
            label.textContent = hourLabel(hour);
            svg.appendChild(label);
        }
        if (currentHour === null || currentHour === undefined) {
            return;
        }
        svg.appendChild(svgElement('line', {
            class: 'now-marker',
            x1: (currentHour + 0.5) * SLOT,
            x2: (currentHour + 0.5) * SLOT,
            y1: TOP - 6,
            y2: HEIGHT - AXIS
        }));
    }

    // rows: [{hour, average, low, high, samples}] of one day;
    // options: {currentHour, live, title}.
    function draw(container, rows, options) {
        container.replaceChildren();
        if (!rows.length) {
            const empty = document.createElement('p');
            empty.className = 'chart-empty';
            empty.textContent = 'No usual day yet: the history fills as ' +
                'counts come in.';
            container.appendChild(empty);
            return;
        }
        const live = typeof options.live === 'number' ? options.live : 0;
        const peak = Math.max(1, live, ...rows.map((row) => row.high));
        const y = (value) => TOP + (1 - value / peak) * (HEIGHT - AXIS - TOP);
        const svg = svgElement('svg', {
            class: 'popular-times',
            viewBox: '0 0 ' + WIDTH + ' ' + HEIGHT,
            role: 'img',
            'aria-label': options.title
        });
        for (const row of rows) {
            svg.appendChild(bar(row, y, row.hour === options.currentHour));
        }
        axis(svg, options.currentHour);
        if (typeof options.live === 'number' && options.currentHour !== null) {
            svg.appendChild(svgElement('circle', {
                class: 'live-dot',
                cx: (options.currentHour + 0.5) * SLOT,
                cy: y(options.live),
                r: 3.5
            }));
        }
        const caption = document.createElement('p');
        caption.className = 'chart-caption';
        caption.textContent = options.title;
        container.append(caption, svg);
    }

    return {draw: draw};
})();
