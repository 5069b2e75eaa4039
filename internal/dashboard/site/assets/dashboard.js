// PTHV reach dashboard: the public page (index.html) and the staff page (staff.html).
//
// Plain JavaScript, no framework and no build step. Everything the data holds is put in the
// page as text (textContent, createTextNode, setAttribute on aria and data attributes):
// never as HTML, so a name such as "<script>" shows as those characters. The page's
// Content-Security-Policy allows only this file as script and requires Trusted Types, so an
// HTML sink could not be used by mistake either.
//
// Data: reach/years.json and reach/{year}.json (public, national and state totals). The
// staff page also reads the suppressed view (districts and sites) with presigned links that
// `pthv reach dashboard` puts in the page's fragment (#…), which is never sent to a server.
'use strict';

(function () {
  // State tiles: code → [name, column, row] of the tile grid map.
  const STATES = {
    AK: ['Alaska', 0, 0], ME: ['Maine', 11, 0], VT: ['Vermont', 10, 1], NH: ['New Hampshire', 11, 1],
    WA: ['Washington', 1, 2], ID: ['Idaho', 2, 2], MT: ['Montana', 3, 2], ND: ['North Dakota', 4, 2],
    MN: ['Minnesota', 5, 2], IL: ['Illinois', 6, 2], WI: ['Wisconsin', 7, 2], MI: ['Michigan', 8, 2],
    NY: ['New York', 9, 2], RI: ['Rhode Island', 10, 2], MA: ['Massachusetts', 11, 2],
    OR: ['Oregon', 1, 3], NV: ['Nevada', 2, 3], WY: ['Wyoming', 3, 3], SD: ['South Dakota', 4, 3],
    IA: ['Iowa', 5, 3], IN: ['Indiana', 6, 3], OH: ['Ohio', 7, 3], PA: ['Pennsylvania', 8, 3],
    NJ: ['New Jersey', 9, 3], CT: ['Connecticut', 10, 3],
    CA: ['California', 1, 4], UT: ['Utah', 2, 4], CO: ['Colorado', 3, 4], NE: ['Nebraska', 4, 4],
    MO: ['Missouri', 5, 4], KY: ['Kentucky', 6, 4], WV: ['West Virginia', 7, 4], VA: ['Virginia', 8, 4],
    MD: ['Maryland', 9, 4], DE: ['Delaware', 10, 4],
    AZ: ['Arizona', 2, 5], NM: ['New Mexico', 3, 5], KS: ['Kansas', 4, 5], AR: ['Arkansas', 5, 5],
    TN: ['Tennessee', 6, 5], NC: ['North Carolina', 7, 5], SC: ['South Carolina', 8, 5],
    DC: ['District of Columbia', 9, 5],
    OK: ['Oklahoma', 4, 6], LA: ['Louisiana', 5, 6], MS: ['Mississippi', 6, 6], AL: ['Alabama', 7, 6],
    GA: ['Georgia', 8, 6],
    HI: ['Hawaii', 0, 7], TX: ['Texas', 4, 7], FL: ['Florida', 9, 7],
  };
  const BINS = 5;
  const SUPPRESSED = '<10';
  const YEAR_RE = /^\d{4}-\d{4}$/;

  const page = document.body.dataset.page;
  const $ = (id) => document.getElementById(id);
  const fmt = new Intl.NumberFormat('en-US');
  const SVG = 'http://www.w3.org/2000/svg';

  const state = {
    years: [], // ascending
    year: '',
    pub: new Map(), // year → public file
    staff: null, // {scope, district, expires, links: Map year → url}
    staffData: new Map(), // year → {generated, districts, sites} or {error}
    filter: '',
    sorts: {}, // table id → {key, dir}
    shown: {}, // table id → {columns, rows}: what the table shows, for its CSV
  };

  // ---------------------------------------------------------------------------------------
  // Small DOM helpers: text only.

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids) e.append(k); // strings become text nodes
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setText(id, text) {
    const e = $(id);
    if (e) e.textContent = text;
  }

  function n(v) {
    return v === null || v === undefined ? SUPPRESSED : fmt.format(v);
  }

  function stateName(code) {
    return STATES[code] ? STATES[code][0] : String(code);
  }

  function utc(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
  }

  function status(msg, isError) {
    const s = $('status');
    s.textContent = msg || '';
    s.classList.toggle('error', !!isError);
  }

  class HTTPError extends Error {
    constructor(code, url) {
      super(code + ' for ' + url);
      this.code = code;
    }
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: 'omit', cache: 'no-cache', referrerPolicy: 'no-referrer' });
    if (!r.ok) throw new HTTPError(r.status, url.split('?')[0]);
    return r.json();
  }

  // ---------------------------------------------------------------------------------------
  // Staff links: #scope=national|district&district=ID&expires=ISO&y.YEAR=KEY?QUERY

  function parseStaffLinks() {
    const p = new URLSearchParams(location.hash.slice(1));
    const links = new Map();
    for (const [k, v] of p) {
      if (!k.startsWith('y.')) continue;
      const y = k.slice(2);
      // Only the suppressed views, on this origin.
      if (YEAR_RE.test(y) && /^published\/reach\/[\w./-]+\.json\?/.test(v) && !v.includes('..')) links.set(y, '/' + v);
    }
    if (links.size === 0) return null;
    const scope = p.get('scope') === 'district' ? 'district' : 'national';
    return { scope, district: p.get('district') || '', expires: p.get('expires') || '', links };
  }

  async function loadStaff(year) {
    if (state.staffData.has(year)) return state.staffData.get(year);
    const url = state.staff.links.get(year);
    let out;
    if (!url) {
      out = { error: 'The link has no view of ' + year + ': run pthv reach dashboard again.' };
    } else {
      try {
        const d = await getJSON(url);
        if (state.staff.scope === 'district') {
          out = { generated: d.generated, districts: d.district ? [d.district] : [], sites: d.sites || [] };
        } else {
          out = { generated: null, districts: d.districts || [], sites: d.sites || [] };
        }
      } catch (e) {
        const expired = state.staff.expires && new Date(state.staff.expires) < new Date();
        out = {
          error: e.code === 404
            ? 'No figures of ' + (state.staff.district || 'the districts') + ' for ' + year + '.'
            : expired
              ? 'The link expired at ' + utc(state.staff.expires) + ': run pthv reach dashboard again.'
              : 'The suppressed view of ' + year + ' could not be read (' + (e.code || e.message) + '): run pthv reach dashboard again.',
        };
      }
    }
    state.staffData.set(year, out);
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // Tables: sortable, with what they show kept for the CSV download.

  // A column: key, label, num (numeric sort), get(row) → sort value (null = suppressed,
  // sorts lowest), show(row) → the cell's text.
  function col(key, label, num, get, show) {
    get = get || ((r) => r[key]);
    show = show || (num ? (r) => n(get(r)) : (r) => String(get(r) ?? ''));
    return { key, label, num, get, show };
  }

  function sortRows(id, columns, rows) {
    const s = state.sorts[id];
    if (!s) return rows;
    const c = columns.find((c) => c.key === s.key);
    if (!c) return rows;
    const dir = s.dir === 'descending' ? -1 : 1;
    return rows
      .map((r, i) => [r, i])
      .sort((a, b) => {
        let x = c.get(a[0]);
        let y = c.get(b[0]);
        let d;
        if (c.num) {
          x = x === null || x === undefined ? -1 : Number(x);
          y = y === null || y === undefined ? -1 : Number(y);
          d = x - y;
        } else {
          d = String(c.show(a[0])).localeCompare(String(c.show(b[0])), 'en');
        }
        return d * dir || a[1] - b[1];
      })
      .map((p) => p[0]);
  }

  function renderTable(id, columns, rows, redraw) {
    const t = $(id);
    const caption = t.querySelector('caption');
    t.replaceChildren();
    if (caption) t.append(caption);
    const sorted = sortRows(id, columns, rows);
    const s = state.sorts[id];
    const head = el('tr');
    for (const c of columns) {
      const th = el('th', { scope: 'col', class: c.num ? 'num' : null, 'aria-sort': s && s.key === c.key ? s.dir : null });
      if (t.classList.contains('sortable')) {
        const b = el('button', { type: 'button', 'data-key': c.key }, c.label);
        b.addEventListener('click', () => {
          const cur = state.sorts[id];
          const dir = cur && cur.key === c.key && cur.dir === 'ascending' ? 'descending' : 'ascending';
          state.sorts[id] = { key: c.key, dir };
          redraw();
          const again = $(id).querySelector('th button[data-key="' + c.key + '"]');
          if (again) again.focus();
        });
        th.append(b);
      } else {
        th.textContent = c.label;
      }
      head.append(th);
    }
    t.append(el('thead', {}, head));
    const body = el('tbody');
    for (const r of sorted) {
      const tr = el('tr');
      columns.forEach((c, i) => {
        const text = c.show(r);
        const cls = [c.num ? 'num' : '', text === SUPPRESSED || text === 'suppressed' ? 'supp' : ''].join(' ').trim();
        const cell = el(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, class: cls || null }, text);
        if (cls.includes('supp')) cell.setAttribute('title', 'Suppressed: see the note above the districts table');
        tr.append(cell);
      });
      body.append(tr);
    }
    if (sorted.length === 0) {
      body.append(el('tr', {}, el('td', { colspan: columns.length, class: 'empty' }, 'No rows.')));
    }
    t.append(body);
    state.shown[id] = { columns, rows: sorted };
  }

  function csvCell(s) {
    s = String(s);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s; // never a spreadsheet formula
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function downloadCSV(id) {
    const shown = state.shown[id];
    if (!shown) return;
    const lines = [shown.columns.map((c) => csvCell(c.label)).join(',')];
    for (const r of shown.rows) lines.push(shown.columns.map((c) => csvCell(c.show(r))).join(','));
    const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const name = ['pthv-reach', id.replace(/-table$/, ''), state.year, state.filter].filter(Boolean).join('-') + '.csv';
    const a = el('a', { href: url, download: name, class: 'hidden' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  }

  // ---------------------------------------------------------------------------------------
  // The sections.

  function totalsOf(year) {
    const p = state.pub.get(year);
    if (!p) return null;
    if (state.filter) return p.states.find((s) => s.state === state.filter) || null;
    return p.national;
  }

  function renderHeadline() {
    const t = totalsOf(state.year);
    for (const stat of $('headline').querySelectorAll('.stat')) {
      const k = stat.dataset.key;
      const dd = stat.querySelector('dd');
      if (k === 'states') {
        stat.hidden = !!state.filter;
        dd.textContent = t ? fmt.format(t.states || 0) : '–';
      } else {
        // A count is null when suppressed: a state's, or the nation's when a single state
        // has sites (its totals are then that state's).
        dd.textContent = t ? n(t[k]) : '–';
      }
    }
  }

  const STATE_COLUMNS = [
    col('state', 'State', false, (r) => stateName(r.state)),
    col('sites', 'Sites', true),
    col('districts', 'Districts', true),
    col('visits', 'Home visits', true),
    col('visitsFirst', 'First visits', true),
    col('visitsSecond', 'Second visits', true),
    col('familiesVisited', 'Families visited', true),
    col('studentsReached', 'Students reached', true),
    col('educatorsTrained', 'Educators trained', true),
    col('schoolsAtThreshold', 'Schools at 10% or more', true),
  ];

  function renderStates() {
    const p = state.pub.get(state.year);
    const rows = p ? p.states.filter((s) => !state.filter || s.state === state.filter) : [];
    renderTable('state-table', STATE_COLUMNS, rows, renderStates);
  }

  function bins(max) {
    // Upper bounds of BINS equal steps up to max, each step a round number.
    const step = niceStep(max / BINS);
    return Array.from({ length: BINS }, (_, i) => step * (i + 1));
  }

  // niceStep rounds x up to 1, 2, 2.5 or 5 times a power of ten (at least 1).
  function niceStep(x) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(x, 1))));
    return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= x) || 10 * p;
  }

  function binOf(v, bounds) {
    if (!v) return 0;
    const i = bounds.findIndex((b) => v <= b);
    return i < 0 ? BINS : i + 1;
  }

  function tipFigures(s) {
    return [
      ['Home visits', n(s.visits)],
      ['Sites', fmt.format(s.sites)],
      ['Families visited', n(s.familiesVisited)],
      ['Students reached', n(s.studentsReached)],
      ['Educators trained', fmt.format(s.educatorsTrained)],
    ];
  }

  function showTip(tile, s) {
    const tip = $('map-tip');
    const dl = el('dl');
    for (const [k, v] of tipFigures(s)) dl.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));
    tip.replaceChildren(el('p', { class: 'tip-title' }, stateName(s.state) + ', ' + state.year), dl);
    tip.hidden = false;
    tip.dataset.state = s.state;
    const wrap = $('map-wrap');
    const w = wrap.clientWidth;
    const left = Math.min(Math.max(tile.offsetLeft + tile.offsetWidth / 2 - tip.offsetWidth / 2, 0), Math.max(w - tip.offsetWidth, 0));
    let top = tile.offsetTop + tile.offsetHeight + 6;
    if (top + tip.offsetHeight > wrap.clientHeight && tile.offsetTop - tip.offsetHeight - 6 >= 0) {
      top = tile.offsetTop - tip.offsetHeight - 6;
    }
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  }

  function hideTip() {
    const tip = $('map-tip');
    tip.hidden = true;
    delete tip.dataset.state;
  }

  function renderMap() {
    const map = $('map');
    const p = state.pub.get(state.year);
    const by = new Map((p ? p.states : []).map((s) => [s.state, s]));
    const max = Math.max(0, ...[...by.values()].map((s) => s.visits));
    const bounds = bins(max || BINS);
    map.replaceChildren();
    hideTip();
    for (const [code, [name, c, r]] of Object.entries(STATES)) {
      const s = by.get(code);
      // A state with sites whose visits are suppressed (under 10) takes the lowest bin.
      const bin = s ? (s.visits === null && s.sites > 0 ? 1 : binOf(s.visits, bounds)) : 0;
      let tile;
      if (s && s.sites > 0) {
        tile = el('button', {
          type: 'button', class: 'tile bin-' + bin, 'data-state': code,
          'aria-label': name + ': ' + tipFigures(s).map(([k, v]) => v + ' ' + k.toLowerCase()).join(', '),
          'aria-describedby': 'map-tip',
        }, code);
        const show = () => showTip(tile, s);
        tile.addEventListener('mouseenter', show);
        tile.addEventListener('focus', show);
        tile.addEventListener('blur', () => {
          if ($('map-tip').dataset.state === code) hideTip();
        });
      } else {
        tile = el('span', { class: 'tile bin-0', 'data-state': code, title: name + ': no sites', 'aria-hidden': 'true' }, code);
      }
      tile.style.gridColumn = String(c + 1);
      tile.style.gridRow = String(r + 1);
      map.append(tile);
    }
    renderLegend(bounds);
  }

  function renderLegend(bounds) {
    const items = [el('li', {}, el('span', { class: 'swatch bin-0', 'aria-hidden': 'true' }), 'no sites')];
    let lo = 1;
    bounds.forEach((b, i) => {
      const label = i === BINS - 1 ? fmt.format(lo) + ' or more' : fmt.format(lo) + '–' + fmt.format(b);
      items.push(el('li', {}, el('span', { class: 'swatch bin-' + (i + 1), 'aria-hidden': 'true' }), label + ' home visits'));
      lo = b + 1;
    });
    $('legend').replaceChildren(...items);
  }

  const TREND_COLUMNS = [
    col('year', 'School year', false),
    col('sites', 'Sites', true),
    col('states', 'States', true),
    col('visits', 'Home visits', true),
    col('familiesVisited', 'Families visited', true),
    col('studentsReached', 'Students reached', true),
    col('educatorsTrained', 'Educators trained', true),
    col('schoolsAtThreshold', 'Schools at 10% or more', true),
  ];

  function renderTrend() {
    const rows = state.years.map((y) => totalsOf(y) && Object.assign({}, totalsOf(y), { year: y })).filter(Boolean);
    const cols = state.filter ? TREND_COLUMNS.filter((c) => c.key !== 'states') : TREND_COLUMNS;
    renderTable('trend-table', cols, rows, renderTrend);
    const where = state.filter ? stateName(state.filter) : 'all states';
    const box = $('trend-chart');
    const W = Math.round(Math.max(300, Math.min(704, box.clientWidth || 640)));
    const H = W < 480 ? 220 : 240;
    const pad = { l: 56, r: 12, t: 24, b: 36 };
    const peak = Math.max(1, ...rows.map((r) => r.visits));
    const step = niceStep(peak / 4);
    const max = Math.ceil(peak / step) * step;
    const chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', class: 'trend' });
    const summary = 'Home visits by school year, ' + where + ': ' +
      (rows.map((r) => r.year + ', ' + n(r.visits)).join('; ') || 'none published') + '.';
    chart.append(svg('title', {}, summary));
    const plotW = W - pad.l - pad.r;
    const plotH = H - pad.t - pad.b;
    for (let v = 0; v <= max + step / 2; v += step) {
      const y = pad.t + plotH - (plotH * v) / max;
      chart.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: v ? 'grid' : 'axis' }));
      chart.append(svg('text', { x: pad.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, fmt.format(v)));
    }
    const bw = Math.min(80, plotW / Math.max(rows.length, 1) * 0.6);
    rows.forEach((r, i) => {
      const cx = pad.l + (plotW * (i + 0.5)) / rows.length;
      const h = (plotH * r.visits) / max;
      chart.append(svg('rect', { x: cx - bw / 2, y: pad.t + plotH - h, width: bw, height: Math.max(h, 0), class: r.year === state.year ? 'bar current' : 'bar' }));
      chart.append(svg('text', { x: cx, y: pad.t + plotH - h - 6, class: 'value', 'text-anchor': 'middle' }, n(r.visits)));
      chart.append(svg('text', { x: cx, y: H - 12, class: 'tick', 'text-anchor': 'middle' }, r.year));
    });
    $('trend-chart').replaceChildren(chart);
    setText('trend-caption', summary + ' The table below gives every figure.');
  }

  // Staff tables.

  const DISTRICT_COLUMNS = [
    col('district', 'District', false),
    col('state', 'State', false),
    col('sites', 'Sites', true),
    col('visits', 'Home visits', true),
    col('visitsFirst', 'First visits', true),
    col('visitsSecond', 'Second visits', true),
    col('familiesVisited', 'Families visited', true),
    col('studentsReached', 'Students reached', true),
    col('students', 'Students', true),
    col('educatorsTrained', 'Educators trained', true),
    col('educatorsVisiting', 'Educators visiting', true),
    col('schoolsAtThreshold', 'Schools at 10% or more', true),
  ];

  const SITE_COLUMNS = [
    col('name', 'School', false, (r) => r.name || r.school),
    col('district', 'District', false),
    col('state', 'State', false),
    col('visits', 'Home visits', true),
    col('visitsFirst', 'First visits', true),
    col('visitsSecond', 'Second visits', true),
    col('familiesVisited', 'Families visited', true),
    col('studentsReached', 'Students reached', true),
    col('students', 'Students', true),
    col('share', 'Share reached', true, (r) => r.share, (r) => (r.share === null || r.share === undefined ? 'suppressed' : (100 * r.share).toFixed(1) + '%')),
    col('atThreshold', 'At 10% or more', false, (r) => r.atThreshold, (r) => (r.atThreshold === null || r.atThreshold === undefined ? 'suppressed' : r.atThreshold ? 'yes' : 'no')),
    col('educatorsVisiting', 'Educators visiting', true),
  ];

  async function renderStaff() {
    if (!state.staff) {
      status('This page shows districts and sites only with a link from pthv reach dashboard, which signs it with your own AWS credentials. The national and state figures below are public.', true);
      for (const id of ['districts-table', 'sites-table']) renderTable(id, id === 'sites-table' ? SITE_COLUMNS : DISTRICT_COLUMNS, [], () => {});
      return;
    }
    const year = state.year;
    const d = await loadStaff(year);
    if (year !== state.year) return; // another year was chosen meanwhile
    if (d.error) {
      status(d.error, true);
    } else {
      status('');
    }
    const districts = (d.districts || []).filter((r) => !state.filter || r.state === state.filter);
    const sites = (d.sites || []).filter((r) => !state.filter || r.state === state.filter);
    const redrawD = () => renderTable('districts-table', DISTRICT_COLUMNS, districts, redrawD);
    const redrawS = () => renderTable('sites-table', SITE_COLUMNS, sites, redrawS);
    redrawD();
    redrawS();
    setText('districts-count', districts.length + (districts.length === 1 ? ' district' : ' districts') + (state.filter ? ' in ' + stateName(state.filter) : ''));
    setText('sites-count', sites.length + (sites.length === 1 ? ' site' : ' sites') + (state.filter ? ' in ' + stateName(state.filter) : ''));
    if (d.generated) setPublished(d.generated);
  }

  function setPublished(iso) {
    const e = $('published');
    e.replaceChildren('Figures published ', el('time', { datetime: iso }, utc(iso)), '.');
  }

  function fillStateFilter() {
    const sel = $('state-filter');
    if (!sel) return;
    const codes = new Set();
    for (const p of state.pub.values()) for (const s of p.states) codes.add(s.state);
    const opts = [el('option', { value: '' }, 'All states')];
    for (const c of [...codes].sort((a, b) => stateName(a).localeCompare(stateName(b), 'en'))) {
      opts.push(el('option', { value: c, selected: c === state.filter }, stateName(c)));
    }
    sel.replaceChildren(...opts);
    sel.value = state.filter;
  }

  async function render() {
    const p = state.pub.get(state.year);
    setText('year-title', state.year ? ', ' + state.year : '');
    document.title = (page === 'staff' ? 'PTHV reach for staff, ' : 'PTHV reach, ') + state.year;
    if (p) {
      setPublished(p.generated);
      setText('note', p.note);
    }
    renderHeadline();
    renderMap();
    renderStates();
    renderTrend();
    if (page === 'staff') await renderStaff();
    document.body.dataset.rendered = state.year + '|' + state.filter;
  }

  function pickYear(y) {
    state.year = y;
    const u = new URL(location.href);
    u.searchParams.set('year', y);
    history.replaceState(null, '', u.pathname + u.search + u.hash);
  }

  async function init() {
    if (page === 'staff') {
      state.staff = parseStaffLinks();
      if (state.staff) {
        const who = state.staff.scope === 'district' ? 'district ' + state.staff.district : 'national staff';
        setText('access', 'Suppressed view for ' + who + (state.staff.expires ? '; the link works until ' + utc(state.staff.expires) : '') + '.');
      }
    }
    let years;
    try {
      years = (await getJSON('reach/years.json')).years || [];
    } catch (e) {
      status('The list of published years could not be read (' + (e.code || e.message) + ').', true);
      setText('published', '');
      return;
    }
    state.years = years.filter((y) => YEAR_RE.test(y)).sort();
    if (state.years.length === 0) {
      status('No reach figures have been published yet.', true);
      setText('published', '');
      return;
    }
    const asked = new URLSearchParams(location.search).get('year');
    state.year = state.years.includes(asked) ? asked : state.years[state.years.length - 1];
    const files = state.years.map((y) =>
      getJSON('reach/' + y + '.json').then(
        (p) => state.pub.set(y, p),
        (e) => status('The figures of ' + y + ' could not be read (' + (e.code || e.message) + ').', true),
      ));
    if (page === 'staff' && state.staff) loadStaff(state.year); // in parallel
    await files[state.years.indexOf(state.year)];
    await Promise.all(files);

    const sel = $('year');
    sel.replaceChildren(...state.years.slice().reverse().map((y) => el('option', { value: y, selected: y === state.year }, y)));
    sel.value = state.year;
    sel.disabled = false;
    sel.addEventListener('change', () => {
      pickYear(sel.value);
      render();
    });
    const filter = $('state-filter');
    if (filter) {
      fillStateFilter();
      filter.addEventListener('change', () => {
        state.filter = filter.value;
        render();
      });
    }
    for (const b of document.querySelectorAll('button.csv')) {
      b.addEventListener('click', () => downloadCSV(b.dataset.table));
    }
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') hideTip();
    });
    $('map-wrap').addEventListener('mouseleave', hideTip);
    let resized = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resized);
      resized = setTimeout(renderTrend, 150);
    });
    await render();
    document.body.dataset.ready = 'true';
  }

  init().catch((e) => {
    status('The dashboard failed: ' + e.message, true);
    document.body.dataset.ready = 'error';
  });
})();
