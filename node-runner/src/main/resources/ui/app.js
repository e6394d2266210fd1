// The operator page of a vmap member. It polls this member's own JSON routes (see
// /v1/openapi.json) and draws them; it shows nothing the API does not offer. Plain JS and SVG:
// no library, nothing fetched from elsewhere.
'use strict';

const SVGNS = 'http://www.w3.org/2000/svg';
const COLORS = { busy: [214, 39, 40], lazy: [255, 159, 28], reserved: [148, 103, 189], free: [232, 236, 239] };
const STATES = ['busy', 'lazy', 'reserved', 'free'];
/** At most this many zones in range show the areas themselves. */
const AREA_VIEW_ZONES = 64;
const params = new URLSearchParams(location.search);
const INTERVAL = Math.max(250, Number(params.get('interval')) || 2000);
const MAP_WIDTH = 960;

const view = { from: params.get('from'), to: params.get('to'), history: [] };
let space = null;
let dragFrom = null;

// ------------------------------------------------------------------ helpers

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function fmtBytes(n) {
  n = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + ' ' + units[i];
}

function hex(b) { return '0x' + b.toString(16).padStart(16, '0'); }

function ms(v) { return v == null ? '–' : (v < 10 ? v.toFixed(2) : v.toFixed(1)) + ' ms'; }

/**
 * The colour of a cell: the states' colours mixed by their share of its bytes, the used part
 * (busy, lazy, reserved) shown with the square root of its share and at least 30%, so that a few
 * areas in a cell of thousands of zones still show. An all-busy cell is exactly the busy colour.
 */
function blend(shares) {
  const used = shares.busy + shares.lazy + shares.reserved;
  const shown = used === 0 ? 0 : Math.max(0.3, Math.sqrt(used));
  const rgb = [0, 0, 0];
  for (const s of STATES) {
    const w = s === 'free' ? 1 - shown : (used === 0 ? 0 : shown * shares[s] / used);
    for (let i = 0; i < 3; i++) rgb[i] += w * COLORS[s][i];
  }
  return 'rgb(' + rgb.map(Math.round).join(',') + ')';
}

/** A share in percent, with the decimals a small one needs. */
function pct(x) {
  const p = 100 * x;
  return (p === 0 || p >= 10 ? p.toFixed(1) : p >= 0.1 ? p.toFixed(2) : p.toPrecision(2)) + '%';
}

function nodeHue(k, nodes) { return 'hsl(' + Math.round(360 * k / Math.max(1, nodes)) + ',55%,50%)'; }

// With authentication on, the views answer an admin's bearer token: asked for on the first 401 and
// kept in sessionStorage (this tab only, gone when it closes), never in the URL.
const tokenForm = document.getElementById('token-form');
tokenForm.addEventListener('submit', evt => {
  evt.preventDefault();
  const t = document.getElementById('token').value.trim();
  if (t) sessionStorage.setItem('vmapToken', t); else sessionStorage.removeItem('vmapToken');
  document.getElementById('token').value = '';
  refresh();
});

async function getJson(path) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem('vmapToken');
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(path, { headers, cache: 'no-store' });
  const body = await r.json().catch(() => null);
  if (r.status === 401 || r.status === 403) tokenForm.hidden = false;
  if (!r.ok) {
    const e = new Error(path + ': ' + r.status + (body && body.error ? ' ' + body.error + ': ' + body.reason : ''));
    e.status = r.status;
    throw e;
  }
  return body;
}

const tooltip = document.getElementById('tooltip');
function showTip(evt, text) {
  tooltip.textContent = text;
  tooltip.hidden = false;
  const x = Math.min(evt.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
  tooltip.style.left = x + 'px';
  tooltip.style.top = (evt.clientY + 14) + 'px';
}
function hideTip() { tooltip.hidden = true; }

// ------------------------------------------------------------------ space map

function rangeQuery() {
  const q = new URLSearchParams();
  if (view.from) q.set('from', view.from);
  if (view.to) q.set('to', view.to);
  return q;
}

function drawSpace(s) {
  space = s;
  const g = s.geometry;
  document.getElementById('geometry').textContent =
    `${g.nodes} nodes, space ${g.vstart}:${g.vend} (${fmtBytes(g.spaceBytes)}), zone ${fmtBytes(g.zone)}, page ${g.page}`;
  document.getElementById('range').textContent = `${s.from} – ${s.to}`;
  document.getElementById('cellinfo').textContent =
    `${s.zones} zones, ${s.zonesPerCell} per cell, ${s.cells} cells · busy ${fmtBytes(s.totals.busy)}, ` +
    `lazy ${fmtBytes(s.totals.lazy)}, reserved ${fmtBytes(s.totals.reserved)}, free ${fmtBytes(s.totals.free)}`;
  const svg = document.getElementById('map');
  svg.replaceChildren();
  const n = s.cells;
  const cols = Math.min(n, 64);
  const w = Math.floor(MAP_WIDTH / cols);
  const h = Math.max(10, Math.min(w, 28));
  const rows = Math.ceil(n / cols);
  const strip = s.zonesPerCell === 1 ? 4 : 0;
  const rowH = h + strip + 2;
  svg.setAttribute('height', rows * rowH + 4);
  const c = s.columns;
  for (let i = 0; i < n; i++) {
    const x = (i % cols) * w, y = Math.floor(i / cols) * rowH;
    const total = c.busy[i] + c.lazy[i] + c.reserved[i] + c.free[i] || 1;
    const shares = {};
    for (const st of STATES) shares[st] = c[st][i] / total;
    const dominant = STATES.reduce((a, b) => (shares[b] > shares[a] ? b : a)); // most bytes
    const rect = el('rect', {
      class: 'cell', x, y, width: w, height: h, fill: blend(shares),
      'data-index': i, 'data-start': c.start[i], 'data-state': dominant,
      'data-node': c.node[i] == null ? '' : c.node[i],
      'data-busy': shares.busy.toFixed(4),
    }, svg);
    const end = i + 1 < n ? c.start[i + 1] : s.to;
    const zoneFirst = s.firstZone + i * s.zonesPerCell;
    const zoneText = s.zonesPerCell === 1 ? `zone ${zoneFirst}` :
      `zones ${zoneFirst}..${Math.min(zoneFirst + s.zonesPerCell, s.firstZone + s.zones) - 1}`;
    const tip = `${zoneText}  ${c.start[i]} – ${end}\n` +
      `node ${c.node[i] == null ? 'several' : c.node[i]}   ${fmtBytes(c.bytes[i])}\n` +
      STATES.map(st => `${st.padEnd(9)}${fmtBytes(c[st][i]).padStart(11)}  ${pct(shares[st])}`).join('\n');
    rect.addEventListener('mousemove', e => showTip(e, tip));
    rect.addEventListener('mouseleave', hideTip);
    rect.addEventListener('mousedown', e => { dragFrom = i; e.preventDefault(); });
    rect.addEventListener('mouseup', () => zoomCells(dragFrom == null ? i : dragFrom, i));
    if (strip) el('rect', { class: 'owner', x, y: y + h + 1, width: w - 1, height: strip, fill: nodeHue(c.node[i], g.nodes) }, svg);
    if (s.zonesPerCell === 1 && w >= 14 && h >= 12) {
      const t = el('text', { x: x + 2, y: y + h - 3 }, svg);
      t.textContent = c.node[i];
    }
  }
  // Areas crossing zone boundaries: a line over the cells they cover.
  for (const a of s.spanning) {
    const i0 = cellOf(s, BigInt(a.start)), i1 = cellOf(s, BigInt(a.end) - 1n);
    for (let row = Math.floor(i0 / cols); row <= Math.floor(i1 / cols); row++) {
      const a0 = Math.max(i0, row * cols), a1 = Math.min(i1, row * cols + cols - 1);
      const y = row * rowH + h / 2;
      el('line', { class: 'spanning', x1: (a0 % cols) * w + 2, x2: (a1 % cols) * w + w - 2, y1: y, y2: y,
        'data-start': a.start }, svg);
    }
  }
}

function cellOf(s, addr) {
  const first = BigInt(s.from), zone = BigInt(s.geometry.zone);
  const idx = Number((addr - first) / zone) / s.zonesPerCell;
  return Math.max(0, Math.min(s.cells - 1, Math.floor(idx)));
}

function zoomCells(i, j) {
  dragFrom = null;
  if (!space) return;
  const a = Math.min(i, j), b = Math.max(i, j);
  const c = space.columns;
  view.from = c.start[a];
  view.to = b + 1 < space.cells ? c.start[b + 1] : space.to;
  refresh();
}

document.getElementById('zoom-all').addEventListener('click', () => { view.from = view.to = null; refresh(); });
document.getElementById('zoom-out').addEventListener('click', () => {
  if (!space) return;
  const g = space.geometry;
  const from = BigInt(space.from), to = BigInt(space.to), width = to - from;
  const lo = BigInt(g.vstart), hi = BigInt(g.vend);
  let nf = from - width, nt = to + width;
  if (nf < lo) nf = lo;
  if (nt > hi) nt = hi;
  view.from = nf === lo && nt === hi ? null : hex(nf);
  view.to = nf === lo && nt === hi ? null : hex(nt);
  refresh();
});
document.addEventListener('mouseup', () => { dragFrom = null; });

// ------------------------------------------------------------------ areas of a zoomed range

function drawAreas(s, list) {
  const svg = document.getElementById('areas');
  svg.replaceChildren();
  const zone = BigInt(s.geometry.zone);
  const from = BigInt(s.from);
  const zones = s.zones;
  const rowH = 22, labelW = 150, W = MAP_WIDTH - labelW;
  svg.setAttribute('height', zones * rowH + 4);
  document.getElementById('areas-range').textContent = `${s.from} – ${s.to}`;
  document.getElementById('areas-note').textContent =
    `${list.areas.length} ranges${list.truncated ? ' (truncated at ' + list.limit + ')' : ''}; one row per zone`;
  for (let z = 0; z < zones; z++) {
    const lo = from + BigInt(z) * zone;
    const label = el('text', { x: 0, y: z * rowH + 14 }, svg);
    label.textContent = `${hex(lo).slice(-12)} n${(s.firstZone + z) % s.geometry.nodes}`;
  }
  for (const a of list.areas) {
    const start = BigInt(a.start), end = BigInt(a.end);
    const z0 = start < from ? 0 : Number((start - from) / zone);
    const z1 = Math.min(zones - 1, Number((end - 1n - from) / zone));
    for (let z = z0; z <= z1; z++) {
      const lo = from + BigInt(z) * zone, hi = lo + zone;
      const a0 = start > lo ? start : lo, a1 = end < hi ? end : hi;
      const x = labelW + Number(a0 - lo) / Number(zone) * W;
      const w = Math.max(2, Number(a1 - a0) / Number(zone) * W);
      const cls = 'area ' + a.state + (a.spans ? ' spans' : '');
      const r = el('rect', { class: cls, x, y: z * rowH + 2, width: w, height: rowH - 6,
        fill: 'rgb(' + COLORS[a.state].join(',') + ')', 'data-start': a.start, 'data-end': a.end,
        'data-state': a.state, 'data-node': a.node, 'data-tag': a.tag || '', 'data-tenant': a.tenant || '' }, svg);
      const tip = `${a.state}${a.tag ? '  tag ' + a.tag : ''}\nstart ${a.start}\nend   ${a.end}\n` +
        `size  ${fmtBytes(a.size)} (${a.size} bytes)\nnode  ${a.node}` +
        (a.tenant ? `\ntenant ${a.tenant}` : '') +
        (a.spans ? `\nspans zones of nodes ${a.nodes.join(', ')}` : '');
      r.addEventListener('mousemove', e => showTip(e, tip));
      r.addEventListener('mouseleave', hideTip);
    }
  }
}

// ------------------------------------------------------------------ nodes and fragmentation

function drawNodes(n) {
  const tbody = document.querySelector('#nodes-table tbody');
  tbody.replaceChildren();
  const ftbody = document.querySelector('#frag-table tbody');
  ftbody.replaceChildren();
  for (const x of n.nodes) {
    const t = x.traffic;
    const tr = document.createElement('tr');
    tr.className = 'node';
    tr.dataset.node = x.node;
    const share = v => (100 * Number(v) / Math.max(1, Number(x.zoneBytes))).toFixed(2) + '%';
    tr.innerHTML = `<td>${x.node}</td><td>${x.zones}</td>` +
      `<td>${x.busy} · ${fmtBytes(x.busyBytes)}</td><td>${x.lazy} · ${fmtBytes(x.lazyBytes)}</td>` +
      `<td>${x.reservations} · ${fmtBytes(x.reservedBytes)}</td><td>${x.freeBlocks} · ${fmtBytes(x.freeBytes)}</td>` +
      `<td>${fmtBytes(x.largestFreeBlock)}</td><td>${x.heldParts}</td><td>${t.perSecond.toFixed(1)}</td>` +
      `<td>${ms(t.p50Ms)}</td><td>${ms(t.p99Ms)}</td><td>${t.errors}</td>` +
      `<td class="wide"><div class="stack" title="busy ${share(x.busyBytes)}, lazy ${share(x.lazyBytes)}, reserved ${share(x.reservedBytes)}">` +
      `<i class="busy" style="width:${share(x.busyBytes)}"></i><i class="lazy" style="width:${share(x.lazyBytes)}"></i>` +
      `<i class="reserved" style="width:${share(x.reservedBytes)}"></i></div></td>`;
    tbody.appendChild(tr);
    const ratio = Number(x.freeBytes) > 0 ? Number(x.largestFreeBlock) / Number(x.freeBytes) : 0;
    const fr = document.createElement('tr');
    fr.innerHTML = `<td>${x.node}</td><td>${fmtBytes(x.freeBytes)}</td><td>${fmtBytes(x.largestFreeBlock)}</td>` +
      `<td><span class="ratio"><i style="width:${(100 * ratio).toFixed(1)}%"></i></span>${pct(ratio)}</td>` +
      `<td>${x.freeBlocks}</td>`;
    ftbody.appendChild(fr);
  }
  document.getElementById('ops').textContent = 'this member, last ' + n.windowSeconds + ' s: ' +
    n.ops.map(o => `${o.op} ${o.traffic.perSecond.toFixed(1)}/s p50 ${ms(o.traffic.p50Ms)} p99 ${ms(o.traffic.p99Ms)}`).join(' · ');
  const sel = document.getElementById('hist-node');
  if (sel.options.length !== n.nodes.length + 1) {
    sel.replaceChildren(new Option('all nodes', 'all'));
    for (const x of n.nodes) sel.appendChild(new Option('node ' + x.node, String(x.node)));
  }
  drawHistogram(n);
}

function drawHistogram(n) {
  const svg = document.getElementById('histogram');
  svg.replaceChildren();
  const which = document.getElementById('hist-node').value;
  const nodes = which === 'all' ? n.nodes : n.nodes.filter(x => String(x.node) === which);
  if (!nodes.length) return;
  const buckets = nodes[0].freeHistogram.map(b => ({ minBytes: b.minBytes, blocks: 0 }));
  for (const x of nodes) x.freeHistogram.forEach((b, i) => { buckets[i].blocks += b.blocks; });
  const max = Math.max(1, ...buckets.map(b => b.blocks));
  const H = 140, bw = Math.max(8, Math.floor((MAP_WIDTH - 40) / buckets.length));
  buckets.forEach((b, i) => {
    const h = b.blocks === 0 ? 0 : Math.max(2, H * Math.log10(1 + b.blocks) / Math.log10(1 + max));
    const r = el('rect', { class: 'bucket', x: 30 + i * bw, y: H - h + 4, width: bw - 2, height: h, fill: '#2c7be5',
      'data-min': b.minBytes, 'data-blocks': b.blocks }, svg);
    r.addEventListener('mousemove', e => showTip(e, `${fmtBytes(b.minBytes)} ≤ size < ${fmtBytes(2 * b.minBytes)}\n${b.blocks} blocks`));
    r.addEventListener('mouseleave', hideTip);
    if (i % 2 === 0) {
      const t = el('text', { x: 30 + i * bw, y: H + 16 }, svg);
      t.textContent = fmtBytes(b.minBytes).replace(' ', '');
    }
  });
}
document.getElementById('hist-node').addEventListener('change', () => { if (lastNodes) drawHistogram(lastNodes); });
let lastNodes = null;

// ------------------------------------------------------------------ purge

function drawPurge(p) {
  const idle = p.phase === 'idle';
  document.getElementById('purge-summary').innerHTML =
    `phase <span class="phase ${idle ? '' : 'busy'}" id="purge-phase">${p.phase}</span> · epoch <b id="purge-epoch">${p.epoch}</b>` +
    ` · ${p.epochsRun} epochs run · ${p.areasReleased} areas released · ${p.subscribers} flush subscribers`;
  const frac = p.thresholdPages > 0 ? p.lazyPages / p.thresholdPages : 0;
  const bar = document.getElementById('lazy-bar');
  bar.style.width = Math.min(100, 100 * frac).toFixed(1) + '%';
  bar.className = frac > 1 ? 'over' : '';
  document.getElementById('lazy-text').textContent =
    `${p.lazyPages} lazy pages of a ${p.thresholdPages}-page threshold (${(100 * frac).toFixed(1)}%)`;
  const tbody = document.querySelector('#holders tbody');
  tbody.replaceChildren();
  for (const h of p.holders) {
    const tr = document.createElement('tr');
    tr.className = 'holder' + (h.stuck ? ' stuck' : '');
    tr.dataset.subscriber = h.subscriber;
    tr.innerHTML = '<td class="mono"></td><td></td><td class="mono"></td><td></td>';
    tr.children[0].textContent = h.subscriber;
    tr.children[1].textContent = h.epoch;
    tr.children[2].textContent = h.flushSentAt || '–';
    tr.children[3].textContent = h.waitingSeconds == null ? '–' : h.waitingSeconds.toFixed(1) + ' s' + (h.stuck ? ' (no ack)' : '');
    tbody.appendChild(tr);
  }
  if (!p.holders.length) {
    const tr = document.createElement('tr');
    tr.innerHTML = '<td colspan="4" class="muted">no subscriber is holding an epoch</td>';
    tbody.appendChild(tr);
  }
  const advice = document.getElementById('purge-advice');
  advice.hidden = !p.advice;
  const stuck = p.holders.filter(h => h.stuck).map(h => h.subscriber);
  advice.textContent = p.advice ? `Epoch ${p.epoch} is stalled waiting for ${stuck.join(', ')}. ${p.advice}` : '';
  drawEpochs(p);
}

function drawEpochs(p) {
  const svg = document.getElementById('epochs');
  svg.replaceChildren();
  const hs = p.history;
  if (hs.length < 2) {
    el('text', { x: 10, y: 20 }, svg).textContent = 'collecting samples…';
    return;
  }
  const t0 = Date.parse(hs[0].at), t1 = Date.parse(hs[hs.length - 1].at);
  const W = MAP_WIDTH - 60, H = 100;
  const x = t => 40 + W * (Date.parse(t) - t0) / Math.max(1, t1 - t0);
  const e0 = hs[0].epochsRun, e1 = Math.max(e0 + 1, hs[hs.length - 1].epochsRun);
  const lmax = Math.max(p.thresholdPages, ...hs.map(h => h.lazyPages), 1);
  const lazy = hs.map(h => `${x(h.at)},${10 + H - H * h.lazyPages / lmax}`).join(' ');
  const eps = hs.map(h => `${x(h.at)},${10 + H - H * (h.epochsRun - e0) / (e1 - e0)}`).join(' ');
  const ty = 10 + H - H * p.thresholdPages / lmax;
  el('line', { x1: 40, x2: 40 + W, y1: ty, y2: ty, stroke: 'rgb(214,39,40)', 'stroke-dasharray': '4 3' }, svg);
  el('polyline', { points: lazy, fill: 'none', stroke: 'rgb(255,159,28)', 'stroke-width': 2 }, svg);
  el('polyline', { points: eps, fill: 'none', stroke: '#2c7be5', 'stroke-width': 2, id: 'epochs-line' }, svg);
  el('text', { x: 40, y: 132 }, svg).textContent =
    `epochs run ${e0}→${hs[hs.length - 1].epochsRun} (blue), lazy pages (amber) against the threshold (red), ` +
    `${Math.round((t1 - t0) / 1000)} s`;
}

// ------------------------------------------------------------------ tenants

/** A tenant at this share of a limit or more stands out. */
const NEAR_QUOTA = 0.9;
/** While /v1/tenants answers 404, ask again only every this many polls. */
const TENANTS_RETRY_POLLS = 15;
let tenantsWait = 0;

/** used / limit, or null without a limit. */
function quotaShare(used, limit) { return limit == null ? null : Number(used) / Math.max(1, Number(limit)); }

/**
 * Tenants' usage against quota from GET /v1/tenants: {tenants: [{tenant, areas, bytes, liveAreas,
 * liveBytes, lazyAreas, lazyBytes, maxAreas, maxBytes}]} (the rows of /v1/info's "tenants"; a null
 * max is no limit). The section stays hidden while the member answers 404 (no tenants there).
 */
async function drawTenants() {
  const section = document.getElementById('tenants');
  let t;
  try {
    t = await getJson('/v1/tenants');
  } catch (e) {
    if (e.status === 404) {
      section.hidden = true;
      tenantsWait = TENANTS_RETRY_POLLS;
      return;
    }
    section.hidden = false;
    document.querySelector('#tenants-table tbody').replaceChildren();
    document.getElementById('tenants-note').textContent = 'Tenants: ' + e.message;
    return;
  }
  const rows = Array.isArray(t) ? t : (t.tenants || []);
  const tbody = document.querySelector('#tenants-table tbody');
  tbody.replaceChildren();
  let near = 0;
  for (const x of rows) {
    const shares = [quotaShare(x.areas, x.maxAreas), quotaShare(x.bytes, x.maxBytes)].filter(v => v != null);
    const worst = shares.length ? Math.max(...shares) : null;
    const tr = document.createElement('tr');
    tr.className = 'tenant' + (worst != null && worst >= NEAR_QUOTA ? ' near' : '');
    if (worst != null && worst >= NEAR_QUOTA) near++;
    tr.dataset.tenant = x.tenant;
    tr.innerHTML = '<td class="mono"></td><td></td><td></td><td></td><td></td><td class="wide"></td>';
    tr.children[0].textContent = x.tenant;
    tr.children[1].textContent = `${x.liveAreas} · ${fmtBytes(x.liveBytes)}`;
    tr.children[2].textContent = `${x.lazyAreas} · ${fmtBytes(x.lazyBytes)}`;
    tr.children[3].textContent = x.areas + ' / ' + (x.maxAreas == null ? 'no limit' : x.maxAreas);
    tr.children[4].textContent = fmtBytes(x.bytes) + ' / ' + (x.maxBytes == null ? 'no limit' : fmtBytes(x.maxBytes));
    tr.children[5].innerHTML = worst == null ? '<span class="muted">no quota</span>' :
      `<span class="ratio"><i class="${worst >= NEAR_QUOTA ? 'near' : ''}" style="width:${Math.min(100, 100 * worst).toFixed(1)}%"></i></span>${pct(worst)}`;
    tbody.appendChild(tr);
  }
  if (!rows.length) {
    const tr = document.createElement('tr');
    tr.innerHTML = '<td colspan="6" class="muted">no tenant holds areas</td>';
    tbody.appendChild(tr);
  }
  document.getElementById('tenants-note').textContent = near
    ? `${near} tenant${near > 1 ? 's are' : ' is'} at ${Math.round(100 * NEAR_QUOTA)}% of a quota or more: the next allocations ` +
      'may fail with EDQUOT (lazily freed areas count until a purge releases them).'
    : '';
  section.hidden = false;
}

// ------------------------------------------------------------------ the loop

async function refresh() {
  const errors = [];
  const q = rangeQuery();
  const tasks = [
    getJson('/v1/space?' + q).then(s => {
      drawSpace(s);
      const zoomed = s.zones <= AREA_VIEW_ZONES;
      document.getElementById('areas-view').hidden = !zoomed;
      if (zoomed) {
        const aq = new URLSearchParams({ from: s.from, to: s.to });
        return getJson('/v1/space/areas?' + aq).then(list => drawAreas(s, list));
      }
    }),
    getJson('/v1/nodes').then(n => { lastNodes = n; drawNodes(n); }),
    getJson('/v1/purge/status').then(drawPurge),
  ];
  for (const r of await Promise.allSettled(tasks)) if (r.status === 'rejected') errors.push(r.reason.message);
  const banner = document.getElementById('error');
  banner.hidden = errors.length === 0;
  banner.textContent = errors.join(' · ');
  document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

async function loop() {
  await refresh();
  if (tenantsWait > 0) tenantsWait--;
  else await drawTenants().catch(e => { document.getElementById('tenants-note').textContent = 'Tenants: ' + e.message; });
  setTimeout(loop, INTERVAL);
}
loop();
