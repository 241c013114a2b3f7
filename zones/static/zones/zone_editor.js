'use strict';
// The zone editor of the camera admin page: draws each zone of the inline
// formset as a polygon over the camera's control image and writes every
// change back into the zone's hidden polygon input, in coordinates from
// 0 to 1 across the picture. Saving the page saves the zones.
(function () {
    const SVG_NS = 'http://www.w3.org/2000/svg';
    const COLOURS = [
        '#e6194b', '#3cb44b', '#4363d8', '#f58231',
        '#911eb4', '#0fa3b1', '#f032e6', '#9a6324'
    ];
    const STEP = 0.005;
    const BIG_STEP = 0.05;
    const HANDLE_PX = 7;
    const BLANK = {width: 1024, height: 768};

    const clamp = (value) => Math.min(1, Math.max(0, value));
    const round = (value) => Math.round(value * 10000) / 10000;
    const copyPoints = (points) => points.map((point) => point.slice());

    function svgElement(name, attributes) {
        const element = document.createElementNS(SVG_NS, name);
        for (const [key, value] of Object.entries(attributes || {})) {
            element.setAttribute(key, value);
        }
        return element;
    }

    function field(row, suffix) {
        return row.querySelector('[name$="-' + suffix + '"]');
    }

    class ZoneEditor {
        constructor(root, group) {
            this.root = root;
            this.group = group;
            this.counts = JSON.parse(
                document.getElementById('zone-counts').textContent || '{}'
            );
            this.zones = [];
            this.selected = -1;
            this.vertex = -1;
            this.drawing = false;
            this.cursor = [0.5, 0.5];
            this.history = [];
            this.drag = null;
            this.size = Object.assign({}, BLANK);
            this.status = root.querySelector('.zone-editor-status');
            this.buildStage(root.dataset.imageUrl);
            for (const row of this.rows()) {
                this.adopt(row);
            }
            this.bind();
            this.render();
        }

        rows() {
            return this.group.querySelectorAll('tr.form-row:not(.empty-form)');
        }

        adopt(row) {
            const input = field(row, 'polygon');
            let points = [];
            try {
                points = input.value ? JSON.parse(input.value) : [];
            } catch (error) {
                points = [];
            }
            if (!Array.isArray(points)) {
                points = [];
            }
            const id = field(row, 'id');
            const zone = {
                row: row,
                isNew: !(id && id.value),
                pk: id ? id.value : '',
                points: points,
                closed: points.length >= 3,
                deleted: false
            };
            const remove = field(row, 'DELETE');
            if (remove && remove.checked) {
                zone.deleted = true;
            }
            this.zones.push(zone);
            return zone;
        }

        buildStage(url) {
            const stage = this.root.querySelector('.zone-editor-stage');
            this.svg = svgElement('svg', {
                'tabindex': '0',
                'role': 'application',
                'aria-label': 'Zones drawn on the control image',
                'class': 'zone-editor-svg'
            });
            this.background = svgElement('rect', {'class': 'zone-editor-blank'});
            this.picture = svgElement('image', {'preserveAspectRatio': 'none'});
            this.layer = svgElement('g');
            this.svg.append(this.background, this.picture, this.layer);
            stage.append(this.svg);
            this.setPicture(url);
        }

        setPicture(url) {
            this.applySize();
            if (!url) {
                return;
            }
            const probe = new Image();
            probe.onload = () => {
                this.size = {width: probe.naturalWidth, height: probe.naturalHeight};
                this.picture.setAttribute('href', url);
                this.applySize();
                this.render();
            };
            probe.src = url;
        }

        applySize() {
            const {width, height} = this.size;
            this.svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
            for (const element of [this.background, this.picture]) {
                element.setAttribute('width', width);
                element.setAttribute('height', height);
            }
        }

        bind() {
            this.root.querySelector('.zone-editor-toolbar').addEventListener(
                'click', (event) => {
                    const button = event.target.closest('button[data-action]');
                    if (button) {
                        this.act(button.dataset.action);
                    }
                }
            );
            this.svg.addEventListener('pointerdown', (event) => this.pointerDown(event));
            this.svg.addEventListener('pointermove', (event) => this.pointerMove(event));
            this.svg.addEventListener('pointerup', (event) => this.pointerUp(event));
            this.svg.addEventListener('keydown', (event) => this.keyDown(event));
            window.addEventListener('resize', () => this.render());
            this.group.addEventListener('input', (event) => this.rowEdited(event));
            this.group.addEventListener('change', (event) => this.rowEdited(event));
            this.group.addEventListener('focusin', (event) => this.rowFocused(event));
            document.addEventListener('formset:added', (event) => this.rowAdded(event));
            document.addEventListener('formset:removed', () => this.rowRemoved());
            this.root.closest('form').addEventListener('submit', () => this.finish());
            for (const button of document.querySelectorAll('[data-background]')) {
                button.addEventListener('click', () => {
                    this.setPicture(button.dataset.background);
                    this.svg.focus();
                });
            }
        }

        // --- changes -------------------------------------------------------

        snapshot() {
            return this.zones.map((zone) => ({
                points: copyPoints(zone.points),
                closed: zone.closed,
                deleted: zone.deleted,
                name: field(zone.row, 'name').value
            }));
        }

        remember() {
            this.history.push(this.snapshot());
            if (this.history.length > 100) {
                this.history.shift();
            }
        }

        undo() {
            const previous = this.history.pop();
            if (!previous) {
                return;
            }
            this.zones.forEach((zone, index) => {
                const state = previous[index];
                if (state) {
                    zone.points = state.points;
                    zone.closed = state.closed;
                    zone.deleted = state.deleted;
                    field(zone.row, 'name').value = state.name;
                } else {
                    zone.deleted = true;
                }
                this.write(zone);
            });
            this.drawing = false;
            this.vertex = -1;
            if (this.selected >= 0 && this.zones[this.selected].deleted) {
                this.selected = -1;
            }
            this.say('Undone.');
            this.render();
        }

        write(zone) {
            const remove = field(zone.row, 'DELETE');
            const input = field(zone.row, 'polygon');
            if (zone.deleted && zone.isNew) {
                // An untouched extra form is skipped by the formset.
                for (const name of ['name', 'polygon', 'capacity']) {
                    field(zone.row, name).value = '';
                }
                zone.row.hidden = true;
                return;
            }
            zone.row.hidden = false;
            if (remove) {
                remove.checked = zone.deleted;
            }
            zone.row.classList.toggle('zone-deleted', zone.deleted);
            const points = zone.points.map((point) => [round(point[0]), round(point[1])]);
            input.value = points.length ? JSON.stringify(points) : '';
            const summary = zone.row.querySelector('[data-zone-summary]');
            if (summary) {
                summary.textContent = zone.points.length
                    ? zone.points.length + ' corners' + (zone.closed ? '' : ', open')
                    : 'not drawn yet';
            }
        }

        act(action) {
            if (action === 'add') {
                this.addZone();
            } else if (action === 'close') {
                this.close();
            } else if (action === 'delete-vertex') {
                this.deleteVertex();
            } else if (action === 'delete-zone') {
                this.deleteZone();
            } else if (action === 'undo') {
                this.undo();
            }
            this.svg.focus();
        }

        addZone() {
            const link = this.group.querySelector('.add-row a');
            if (!link) {
                this.say('No more zones can be added here.');
                return;
            }
            this.remember();
            link.click();
        }

        rowAdded(event) {
            const row = event.target;
            if (!row || !this.group.contains(row)) {
                return;
            }
            const zone = this.adopt(row);
            const name = field(row, 'name');
            if (!name.value) {
                name.value = 'Zone ' + this.liveZones().length;
            }
            this.selected = this.zones.indexOf(zone);
            this.vertex = -1;
            this.drawing = true;
            this.cursor = [0.5, 0.5];
            this.write(zone);
            this.say('Drawing ' + name.value + ': click on the picture to place ' +
                'each corner.');
            this.render();
        }

        rowRemoved() {
            const rows = Array.from(this.rows());
            this.zones = this.zones.filter((zone) => rows.includes(zone.row));
            this.selected = -1;
            this.drawing = false;
            this.history = [];
            this.render();
        }

        rowEdited(event) {
            const row = event.target.closest('tr.form-row');
            const zone = this.zones.find((candidate) => candidate.row === row);
            if (!zone) {
                return;
            }
            if (event.target.name && event.target.name.endsWith('-DELETE')) {
                zone.deleted = event.target.checked;
                zone.row.classList.toggle('zone-deleted', zone.deleted);
            }
            this.render();
        }

        rowFocused(event) {
            const row = event.target.closest('tr.form-row');
            const index = this.zones.findIndex((zone) => zone.row === row);
            if (index >= 0 && index !== this.selected && !this.drawing) {
                this.select(index);
            }
        }

        select(index) {
            this.selected = index;
            this.vertex = -1;
            this.render();
        }

        addPoint(point) {
            const zone = this.zones[this.selected];
            this.remember();
            zone.points.push(point);
            this.write(zone);
            this.say(zone.points.length + ' corners placed' +
                (zone.points.length >= 3 ? '; click the first one to close.' : '.'));
        }

        close() {
            const zone = this.zones[this.selected];
            if (!this.drawing || !zone || zone.points.length < 3) {
                this.say('A zone needs at least 3 corners.');
                return;
            }
            this.remember();
            zone.closed = true;
            this.drawing = false;
            this.write(zone);
            this.say(field(zone.row, 'name').value + ' is closed. Save to keep it.');
            this.render();
        }

        deleteVertex() {
            const zone = this.zones[this.selected];
            if (!zone || this.vertex < 0) {
                return;
            }
            if (zone.closed && zone.points.length <= 3) {
                this.say('A zone needs at least 3 corners; delete the zone instead.');
                return;
            }
            this.remember();
            zone.points.splice(this.vertex, 1);
            this.vertex = Math.min(this.vertex, zone.points.length - 1);
            this.write(zone);
            this.render();
        }

        deleteZone() {
            const zone = this.zones[this.selected];
            if (!zone) {
                return;
            }
            this.remember();
            zone.deleted = true;
            this.drawing = false;
            this.write(zone);
            this.say(field(zone.row, 'name').value + ' will be deleted when you save.');
            this.selected = -1;
            this.render();
        }

        finish() {
            const zone = this.zones[this.selected];
            if (this.drawing && zone && zone.points.length >= 3) {
                zone.closed = true;
            }
            this.zones.forEach((each) => this.write(each));
        }

        move(points, dx, dy) {
            // A zone moves as a whole and stops at the picture's edge.
            const xs = points.map((point) => point[0]);
            const ys = points.map((point) => point[1]);
            dx = Math.min(Math.max(dx, -Math.min(...xs)), 1 - Math.max(...xs));
            dy = Math.min(Math.max(dy, -Math.min(...ys)), 1 - Math.max(...ys));
            return points.map((point) => [point[0] + dx, point[1] + dy]);
        }

        nudge(dx, dy) {
            if (this.drawing) {
                this.cursor = [clamp(this.cursor[0] + dx), clamp(this.cursor[1] + dy)];
                this.render();
                return;
            }
            const zone = this.zones[this.selected];
            if (!zone || !zone.points.length) {
                return;
            }
            this.remember();
            if (this.vertex >= 0) {
                const point = zone.points[this.vertex];
                zone.points[this.vertex] = [clamp(point[0] + dx), clamp(point[1] + dy)];
            } else {
                zone.points = this.move(zone.points, dx, dy);
            }
            this.write(zone);
            this.render();
        }

        // --- pointer and keyboard -----------------------------------------

        toPicture(event) {
            const matrix = this.svg.getScreenCTM().inverse();
            const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix);
            return [clamp(point.x / this.size.width), clamp(point.y / this.size.height)];
        }

        pointerDown(event) {
            if (event.button !== 0) {
                return;
            }
            this.svg.focus();
            const point = this.toPicture(event);
            const target = event.target;
            const zoneIndex = Number(target.dataset.zone);
            const vertexIndex = Number(target.dataset.vertex);
            if (this.drawing) {
                const zone = this.zones[this.selected];
                if (target.dataset.vertex === '0' && zoneIndex === this.selected &&
                        zone.points.length >= 3) {
                    this.close();
                } else {
                    this.addPoint(point);
                    this.render();
                }
                return;
            }
            if (target.dataset.vertex !== undefined) {
                this.selected = zoneIndex;
                this.vertex = vertexIndex;
                this.startDrag(event, point);
            } else if (target.dataset.zone !== undefined) {
                this.selected = zoneIndex;
                this.vertex = -1;
                this.startDrag(event, point);
            } else {
                this.selected = -1;
                this.vertex = -1;
            }
            this.render();
        }

        startDrag(event, point) {
            const zone = this.zones[this.selected];
            this.drag = {
                start: point,
                before: this.snapshot(),
                points: copyPoints(zone.points),
                moved: false
            };
            this.svg.setPointerCapture(event.pointerId);
        }

        pointerMove(event) {
            if (!this.drag) {
                return;
            }
            const point = this.toPicture(event);
            const zone = this.zones[this.selected];
            const dx = point[0] - this.drag.start[0];
            const dy = point[1] - this.drag.start[1];
            if (this.vertex >= 0) {
                zone.points[this.vertex] = point;
            } else {
                zone.points = this.move(this.drag.points, dx, dy);
            }
            this.drag.moved = true;
            this.render();
        }

        pointerUp(event) {
            if (!this.drag) {
                return;
            }
            if (this.drag.moved) {
                this.history.push(this.drag.before);
                this.write(this.zones[this.selected]);
            }
            this.drag = null;
            this.svg.releasePointerCapture(event.pointerId);
            this.render();
        }

        keyDown(event) {
            const step = event.shiftKey ? BIG_STEP : STEP;
            const moves = {
                ArrowLeft: [-step, 0], ArrowRight: [step, 0],
                ArrowUp: [0, -step], ArrowDown: [0, step]
            };
            let handled = true;
            if (moves[event.key]) {
                this.nudge(...moves[event.key]);
            } else if ((event.ctrlKey || event.metaKey) && event.key === 'z') {
                this.undo();
            } else if (event.key === 'Delete' || event.key === 'Backspace') {
                this.deleteVertex();
            } else if (event.key === ' ' && this.drawing) {
                this.addPoint(this.cursor.slice());
                this.render();
            } else if (event.key === 'Enter' && this.drawing) {
                this.close();
            } else if (event.key === 'Escape' && this.drawing) {
                this.stopDrawing();
            } else if (event.key === ']' || event.key === '[') {
                this.cycleZone(event.key === ']' ? 1 : -1);
            } else if (event.key === '.' || event.key === ',') {
                this.cycleVertex(event.key === '.' ? 1 : -1);
            } else {
                handled = false;
            }
            if (handled) {
                event.preventDefault();
            }
        }

        stopDrawing() {
            const zone = this.zones[this.selected];
            if (zone.points.length >= 3) {
                this.close();
                return;
            }
            this.deleteZone();
        }

        cycleZone(direction) {
            const live = this.liveZones();
            if (!live.length || this.drawing) {
                return;
            }
            const position = live.indexOf(this.zones[this.selected]);
            const next = live[(position + direction + live.length) % live.length];
            this.select(this.zones.indexOf(next));
            this.say(field(next.row, 'name').value + ' selected.');
        }

        cycleVertex(direction) {
            const zone = this.zones[this.selected];
            if (!zone || !zone.points.length) {
                return;
            }
            const count = zone.points.length;
            this.vertex = (this.vertex + direction + count) % count;
            this.say('Corner ' + (this.vertex + 1) + ' of ' + count + ' selected.');
            this.render();
        }

        liveZones() {
            return this.zones.filter((zone) => !zone.deleted);
        }

        say(message) {
            this.status.textContent = message;
        }

        // --- drawing --------------------------------------------------------

        render() {
            const {width, height} = this.size;
            const scale = width / Math.max(this.svg.clientWidth || width, 1);
            const radius = HANDLE_PX * scale;
            this.layer.replaceChildren();
            this.zones.forEach((zone, index) => {
                if (!zone.deleted && zone.points.length) {
                    this.layer.append(this.drawZone(zone, index, radius, scale));
                }
            });
            if (this.drawing) {
                this.layer.append(svgElement('circle', {
                    'class': 'zone-cursor',
                    'cx': this.cursor[0] * width,
                    'cy': this.cursor[1] * height,
                    'r': radius * 0.6
                }));
            }
            this.zones.forEach((zone, index) => {
                zone.row.classList.toggle('zone-selected', index === this.selected);
            });
            this.updateToolbar();
        }

        drawZone(zone, index, radius, scale) {
            const {width, height} = this.size;
            const colour = COLOURS[index % COLOURS.length];
            const selected = index === this.selected;
            const pixels = zone.points.map((point) => [point[0] * width, point[1] * height]);
            const group = svgElement('g', {'class': 'zone' + (selected ? ' selected' : '')});
            const shape = svgElement(zone.closed ? 'polygon' : 'polyline', {
                'points': pixels.map((point) => point.join(',')).join(' '),
                'stroke': colour,
                'fill': zone.closed ? colour : 'none',
                'data-zone': index
            });
            group.append(shape);
            if (zone.closed) {
                group.append(this.label(zone, pixels, colour, scale));
            }
            if (selected) {
                pixels.forEach((point, vertex) => {
                    group.append(svgElement('circle', {
                        'class': 'zone-handle' + (vertex === this.vertex ? ' active' : ''),
                        'cx': point[0],
                        'cy': point[1],
                        'r': vertex === 0 && this.drawing ? radius * 1.4 : radius,
                        'stroke': colour,
                        'data-zone': index,
                        'data-vertex': vertex
                    }));
                });
            }
            return group;
        }

        label(zone, pixels, colour, scale) {
            const x = pixels.reduce((sum, point) => sum + point[0], 0) / pixels.length;
            const y = pixels.reduce((sum, point) => sum + point[1], 0) / pixels.length;
            const count = this.counts[zone.pk];
            const name = field(zone.row, 'name').value || 'Unnamed zone';
            const text = svgElement('text', {
                'x': x,
                'y': y,
                'class': 'zone-label',
                'font-size': 14 * scale,
                'fill': colour
            });
            text.textContent = count === undefined ? name : name + ' \u00b7 ' + count;
            return text;
        }

        updateToolbar() {
            const zone = this.zones[this.selected];
            const states = {
                'close': this.drawing && zone && zone.points.length >= 3,
                'delete-vertex': Boolean(zone) && this.vertex >= 0,
                'delete-zone': Boolean(zone),
                'undo': this.history.length > 0
            };
            for (const [action, enabled] of Object.entries(states)) {
                const button = this.root.querySelector('[data-action="' + action + '"]');
                button.disabled = !enabled;
            }
        }
    }

    function start() {
        const root = document.querySelector('[data-zone-editor]');
        const group = document.getElementById('zones-group');
        if (root && group) {
            window.zoneEditor = new ZoneEditor(root, group);
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
