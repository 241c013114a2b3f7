'use strict';
// The public dashboard: the live count of each zone and of the whole space
// against its capacity, next to its usual day. Live counts refresh every
// LIVE_MS; the usual day every HISTORY_MS and whenever the hour changes.
// A zone without a recent count says so instead of showing zero.
// Where the API wants a key, the page asks for one (or takes it once from
// ?key=), keeps it for this tab only and sends it with every request.
(function () {
    const LIVE_MS = 15000;
    const KEY_ITEM = 'occupancy.apiKey';
    const HISTORY_MS = 10 * 60 * 1000;
    const WEEKDAYS = [
        '', 'Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays',
        'Saturdays', 'Sundays'
    ];

    const root = document.getElementById('dashboard');
    const updated = root.querySelector('.updated');
    const zonesSection = root.querySelector('.zones');
    const keyForm = root.querySelector('.key-form');
    const state = {histories: {}, historyKey: null, historyAt: 0};

    class KeyNeeded extends Error {}

    // sessionStorage can be missing or refused (private modes, policies);
    // the page then asks again after each reload.
    function storedKey() {
        try {
            return window.sessionStorage.getItem(KEY_ITEM) || state.key || null;
        } catch (error) {
            return state.key || null;
        }
    }

    function storeKey(key) {
        state.key = key;
        try {
            if (key) {
                window.sessionStorage.setItem(KEY_ITEM, key);
            } else {
                window.sessionStorage.removeItem(KEY_ITEM);
            }
        } catch (error) {
            // Kept in state.key for as long as the page is open.
        }
    }

    // A link may carry the key once; it leaves the address bar (and the
    // history) at once, so it is not bookmarked or shared by mistake.
    function takeKeyFromAddress() {
        const address = new URL(window.location.href);
        const key = address.searchParams.get('key');
        if (key === null) {
            return;
        }
        address.searchParams.delete('key');
        window.history.replaceState(null, '', address.pathname + address.search +
            address.hash);
        if (key.trim()) {
            storeKey(key.trim());
        }
    }

    async function getJSON(url) {
        const headers = {Accept: 'application/json'};
        const key = storedKey();
        if (key) {
            headers.Authorization = 'Key ' + key;
        }
        const response = await fetch(url, {headers: headers});
        if (response.status === 401) {
            throw new KeyNeeded(key ? 'rejected' : 'missing');
        }
        if (!response.ok) {
            throw new Error(url + ' answered ' + response.status);
        }
        return response.json();
    }

    function askForKey(reason) {
        storeKey(null);
        keyForm.hidden = false;
        keyForm.querySelector('.key-prompt').textContent = reason === 'rejected' ?
            'That API key was not accepted. Check it, or ask for a new one.' :
            'These counts are shown to holders of an API key.';
        updated.textContent = 'Waiting for an API key.';
        updated.classList.remove('error');
        keyForm.querySelector('input').focus();
    }

    keyForm.addEventListener('submit', (event) => {
        event.preventDefault();
        const input = keyForm.querySelector('input');
        const key = input.value.trim();
        if (!key) {
            return;
        }
        storeKey(key);
        input.value = '';
        keyForm.hidden = true;
        updated.textContent = 'Loading the live counts…';
        refresh();
    });

    function clock(text) {
        return new Date(text).toLocaleTimeString([], {
            hour: '2-digit', minute: '2-digit'
        });
    }

    function historyKey(occupancy) {
        const usual = occupancy.usual_for;
        const zones = occupancy.zones.map((zone) => zone.id).join(',');
        return usual ? [usual.by, usual.weekday, usual.hour, zones].join('/') : zones;
    }

    async function loadHistories(occupancy) {
        const usual = occupancy.usual_for;
        const by = usual ? usual.by : 'hour';
        const base = root.dataset.historyUrl + '?by=' + by;
        const scopes = [['space', base]].concat(occupancy.zones.map(
            (zone) => ['zone:' + zone.id, base + '&zone=' + zone.id]
        ));
        const answers = await Promise.all(scopes.map(([, url]) => getJSON(url)));
        const histories = {};
        scopes.forEach(([scope], index) => {
            histories[scope] = dayOf(answers[index], usual);
        });
        state.histories = histories;
        state.historyKey = historyKey(occupancy);
        state.historyAt = Date.now();
    }

    function dayOf(answer, usual) {
        if (answer.by !== 'weekday_hour' || !usual) {
            return answer.rows;
        }
        return answer.rows.filter((row) => row.weekday === usual.weekday);
    }

    function chartTitle(usual) {
        if (usual && usual.by === 'weekday_hour') {
            return 'Usually on ' + WEEKDAYS[usual.weekday] + ', by hour';
        }
        return 'Usually, by hour of the day';
    }

    function child(card, className, tag) {
        let element = card.querySelector(':scope > .' + className);
        if (!element) {
            element = document.createElement(tag || 'div');
            element.className = className;
            card.appendChild(element);
        }
        return element;
    }

    function cardFor(scope) {
        if (scope === 'space') {
            return document.getElementById('space');
        }
        let card = zonesSection.querySelector('[data-scope="' + scope + '"]');
        if (!card) {
            card = document.createElement('section');
            card.className = 'card zone';
            card.dataset.scope = scope;
            card.appendChild(document.createElement('h2'));
            zonesSection.appendChild(card);
        }
        return card;
    }

    function comparison(people, usual) {
        if (people === null) {
            return '';
        }
        if (!usual) {
            return 'No usual figure for this hour yet.';
        }
        if (people > usual.high) {
            return 'Busier than usual';
        }
        if (people < usual.low) {
            return 'Quieter than usual';
        }
        return 'About as busy as usual';
    }

    function fillLive(card, view) {
        const live = child(card, 'live');
        live.replaceChildren();
        const people = document.createElement('span');
        people.className = 'people';
        people.textContent = view.people === null ? '–' : String(view.people);
        live.appendChild(people);
        const unit = document.createElement('span');
        unit.className = 'capacity';
        unit.textContent = view.capacity ?
            ' of ' + view.capacity + ' people' : ' people';
        live.appendChild(unit);

        const meter = child(card, 'meter');
        const share = view.capacity && view.people !== null ?
            Math.min(1, view.people / view.capacity) : 0;
        meter.hidden = !view.capacity;
        meter.style.setProperty('--share', String(share));
        meter.setAttribute('role', 'meter');
        meter.setAttribute('aria-valuenow', String(view.people || 0));
        meter.setAttribute('aria-valuemax', String(view.capacity || 0));

        child(card, 'note', 'p').textContent = view.note;
        child(card, 'compare', 'p').textContent = view.stale ?
            '' : comparison(view.people, view.usual);
        child(card, 'usual-now', 'p').textContent = view.usual ?
            'Usually ' + view.usual.average + ' now (' + view.usual.low +
            ' to ' + view.usual.high + ')' : '';
    }

    function fill(card, view, usualFor) {
        card.hidden = false;
        card.classList.toggle('stale', view.stale);
        card.querySelector('h2').textContent = view.name;
        fillLive(card, view);
        window.PopularTimes.draw(child(card, 'chart'), view.rows, {
            currentHour: usualFor ? usualFor.hour : null,
            live: view.stale || view.people === null ? null : view.people,
            title: chartTitle(usualFor)
        });
    }

    function zoneNote(zone) {
        if (zone.people === null) {
            return 'No count yet.';
        }
        if (zone.stale) {
            return 'No recent count: this is the last one, at ' +
                clock(zone.captured_at) + '.';
        }
        return 'Counted at ' + clock(zone.captured_at) + '.';
    }

    function spaceNote(total) {
        if (!total.zones) {
            return 'No zone is counted yet.';
        }
        if (total.stale) {
            return 'Some zones have no recent count; the total uses their ' +
                'last one.';
        }
        return 'All ' + total.zones + ' zones counted recently.';
    }

    function render(occupancy) {
        const usualFor = occupancy.usual_for;
        const total = occupancy.total;
        fill(cardFor('space'), {
            name: 'The whole space',
            people: total.counted_zones ? total.people : null,
            capacity: total.capacity,
            stale: total.counted_zones === 0,
            note: spaceNote(total),
            usual: total.usual,
            rows: state.histories.space || []
        }, usualFor);
        const shown = new Set(['space']);
        for (const zone of occupancy.zones) {
            const scope = 'zone:' + zone.id;
            shown.add(scope);
            fill(cardFor(scope), {
                name: zone.name,
                people: zone.people,
                capacity: zone.capacity,
                stale: zone.stale,
                note: zoneNote(zone),
                usual: zone.usual,
                rows: state.histories[scope] || []
            }, usualFor);
        }
        for (const card of zonesSection.querySelectorAll('[data-scope]')) {
            if (!shown.has(card.dataset.scope)) {
                card.remove();
            }
        }
    }

    async function refresh() {
        window.clearTimeout(state.timer);
        try {
            const occupancy = await getJSON(root.dataset.occupancyUrl);
            const due = Date.now() - state.historyAt > HISTORY_MS;
            if (due || historyKey(occupancy) !== state.historyKey) {
                await loadHistories(occupancy);
            }
            render(occupancy);
            updated.textContent = 'Live counts as of ' +
                clock(occupancy.generated_at) + ', refreshed every ' +
                LIVE_MS / 1000 + ' seconds.';
            updated.classList.remove('error');
        } catch (error) {
            if (error instanceof KeyNeeded) {
                askForKey(error.message);
                return; // no polling until a key is given
            }
            updated.textContent = 'The counts could not be fetched (' +
                error.message + '); trying again.';
            updated.classList.add('error');
        }
        state.timer = window.setTimeout(refresh, LIVE_MS);
    }

    takeKeyFromAddress();
    refresh();
})();
