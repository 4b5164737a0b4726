// SPDX-License-Identifier: MIT
// overview.js - every target (input URL) on every network with its state over a window (default
// the last 24 hours: the interference seen in it with its share and 95% interval, whatever the
// last trial said; "intermittent" when access was seen too), its latest verdict and since when it
// holds, and a sparkline of the URL's last 14 days (by=domain: its domain's). Ranked by the
// state's severity, then the share of interference, then its recency (stats.js). Filters:
// verdict (the state's), domain, network, time range (the latest measurement's time), window,
// all kept in the URL; the source (trusted sources only, one credential) is the header's
// (source.js) and applies to every query.

import * as api from './api.js';
import { h, append, clear } from './dom.js';
import { link, targetLink, measurementLink, networkKey } from './links.js';
import { VERDICTS, INFO, badge, isVerdict } from './verdicts.js';
import { timeEl, parseUtc, ago, isoDay, apiTime } from './time.js';
import { sparkline } from './charts.js';
import { sourceWords } from './source.js';
import { certsLink, hasCerts } from './certs.js';
import { byDay } from './history.js';
import { WINDOWS, DEFAULT_WINDOW, windowState, compareStates, shareText } from './stats.js';

export const RANGES = {
  '1d': { label: 'last 24 hours', seconds: 86400 },
  '7d': { label: 'last 7 days', seconds: 7 * 86400 },
  '30d': { label: 'last 30 days', seconds: 30 * 86400 },
  all: { label: 'all time', seconds: 0 },
};
const SPARK_DAYS = 14;
const SPARK_MAX_NETWORKS = 30; // by=domain: one aggregation query per network
const SPARK_MAX_ROWS = 100; // per URL: one measurements query per row, SPARK_PARALLEL at a time
const SPARK_PARALLEL = 6;

function readFilters(params) {
  const verdicts = (params.get('verdict') || '').split(',').filter(isVerdict);
  const range = RANGES[params.get('range')] ? params.get('range') : '7d';
  return {
    verdicts: new Set(verdicts),
    domain: (params.get('domain') || '').trim().toLowerCase(),
    network: params.get('network') || '',
    range,
    window: WINDOWS[params.get('window')] ? params.get('window') : DEFAULT_WINDOW,
    by: params.get('by') === 'domain' ? 'domain' : '',
  };
}

function filterLink(f, change) {
  const g = { ...f, verdicts: new Set(f.verdicts), ...change };
  return link('/', {
    verdict: [...g.verdicts].join(','),
    domain: g.domain,
    network: g.network,
    range: g.range === '7d' ? '' : g.range,
    window: g.window === DEFAULT_WINDOW ? '' : g.window,
    by: g.by,
  });
}

function sparkSince() {
  // SPARK_DAYS buckets ending with today (UTC).
  const since = new Date(Date.now() - (SPARK_DAYS - 1) * 86400 * 1000);
  since.setUTCHours(0, 0, 0, 0);
  return since;
}

// Daily verdict counts of each row's URL on its network: {day: {...}} per row (null past
// SPARK_MAX_ROWS), from its measurements. Once the page is gone (stale()), no further query
// leaves: a switch flipped while they load must not be followed by queries of the old view.
async function sparkDataUrl(rows, since, stale) {
  const out = new Array(rows.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < Math.min(rows.length, SPARK_MAX_ROWS) && !stale()) {
      const i = next++;
      const r = rows[i];
      const { results } = await api.measurementsAll({
        input: r.input, probe_cc: r.probe_cc, probe_asn: r.probe_asn, since: apiTime(since),
      }, 3);
      const days = {};
      for (const d of byDay(results)) days[d.measurement_day] = d;
      out[i] = days;
    }
  };
  await Promise.all(Array.from({ length: SPARK_PARALLEL }, worker));
  return out;
}

// Daily verdict counts per (network, domain) for the sparklines: {netKey: {domain: {day: {...}}}}.
async function sparkData(networks) {
  const since = sparkSince();
  const out = {};
  const list = networks.slice(0, SPARK_MAX_NETWORKS);
  await Promise.all(list.map(async (n) => {
    const agg = await api.aggregation({
      probe_cc: n.cc, probe_asn: n.asn, axis_x: 'domain', axis_y: 'measurement_day',
      since: apiTime(since),
    });
    const byDomain = {};
    for (const r of agg.result || []) {
      (byDomain[r.domain] = byDomain[r.domain] || {})[r.measurement_day] = r;
    }
    out[networkKey(n.cc, n.asn)] = byDomain;
  }));
  return { since, byNet: out };
}

function sparkBuckets(since, days) {
  const out = [];
  for (let i = 0; i < SPARK_DAYS; i++) {
    const d = new Date(since.getTime() + i * 86400 * 1000);
    const r = (days && days[isoDay(d)]) || {};
    const b = { t: d.getTime() / 1000 };
    for (const v of VERDICTS) b[v] = r[v] || 0;
    out.push(b);
  }
  return out;
}

function filtersForm(f, networks, counts) {
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter by verdict' },
    VERDICTS.map((v) => {
      const on = f.verdicts.has(v);
      const next = new Set(f.verdicts);
      if (on) next.delete(v); else next.add(v);
      return h('a', {
        class: `chip pat-${v}${on ? ' on' : ''}`,
        href: filterLink(f, { verdicts: next }),
        'aria-pressed': on ? 'true' : 'false',
        'data-verdict': v,
        title: on ? `stop filtering on ${v}` : `show only ${v} (with the others selected)`,
      }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, INFO[v].glyph), ` ${v} `,
      h('span', { class: 'count' }, String(counts[v] || 0)));
    }));

  const domain = h('input', {
    type: 'search', id: 'f-domain', name: 'domain', value: f.domain, placeholder: 'e.g. icloud.com',
    autocomplete: 'off', spellcheck: 'false',
  });
  const net = h('select', { id: 'f-network', name: 'network' },
    h('option', { value: '' }, 'all networks'),
    networks.map((n) => {
      const k = networkKey(n.cc, n.asn);
      return h('option', { value: k, selected: k === f.network }, `${n.cc} · ${n.asn}`);
    }));
  const range = h('select', { id: 'f-range', name: 'range' },
    Object.entries(RANGES).map(([k, r]) => h('option', { value: k, selected: k === f.range }, r.label)));
  const win = h('select', { id: 'f-window', name: 'window' },
    Object.entries(WINDOWS).map(([k, label]) => h('option', { value: k, selected: k === f.window }, label)));
  const by = h('select', { id: 'f-by', name: 'by' },
    h('option', { value: '', selected: !f.by }, 'per URL'),
    h('option', { value: 'domain', selected: f.by === 'domain' }, 'per domain'));
  const apply = () => {
    location.hash = filterLink(f, {
      domain: domain.value.trim().toLowerCase(), network: net.value, range: range.value,
      window: win.value, by: by.value,
    }).slice(1);
  };
  const form = h('form', { class: 'filters', role: 'search', on: { submit: (e) => { e.preventDefault(); apply(); } } },
    h('label', { for: 'f-domain' }, 'Domain', domain),
    h('label', { for: 'f-network' }, 'Network', net),
    h('label', { for: 'f-range' }, 'Seen in', range),
    h('label', { for: 'f-window', title: 'the state of each target: the verdicts it had over this window' }, 'State over', win),
    h('label', { for: 'f-by', title: 'the sparklines: the URL\'s own history, or its whole domain\'s' }, 'History', by),
    h('button', { type: 'submit' }, 'Apply'),
    (f.verdicts.size || f.domain || f.network || f.range !== '7d' || f.window !== DEFAULT_WINDOW || f.by)
      ? h('a', { href: link('/'), class: 'reset' }, 'Clear filters') : null);
  net.addEventListener('change', apply);
  range.addEventListener('change', apply);
  win.addEventListener('change', apply);
  by.addEventListener('change', apply);
  return [chips, form];
}

export async function renderOverview(main, params, stale) {
  const f = readFilters(params);
  const now = new Date();
  const q = { window: f.window };
  if (RANGES[f.range].seconds) q.since = apiTime(new Date(now.getTime() - RANGES[f.range].seconds * 1000));
  append(main, h('h1', null, 'Overview'), h('p', { class: 'muted', id: 'status' }, 'Loading…'));

  const { results, truncated } = await api.targets(q);
  if (stale()) return;

  const netMap = new Map();
  for (const r of results) netMap.set(networkKey(r.probe_cc, r.probe_asn), { cc: r.probe_cc, asn: r.probe_asn });
  const networks = [...netMap.values()].sort((a, b) => networkKey(a.cc, a.asn).localeCompare(networkKey(b.cc, b.asn)));

  const inScope = results.filter((r) =>
    (!f.domain || String(r.domain || '').includes(f.domain) || String(r.input || '').toLowerCase().includes(f.domain)) &&
    (!f.network || networkKey(r.probe_cc, r.probe_asn) === f.network));
  for (const r of inScope) r.state = windowState(r);
  const counts = {};
  for (const r of inScope) counts[r.state.verdict] = (counts[r.state.verdict] || 0) + 1;
  const rows = inScope.filter((r) => !f.verdicts.size || f.verdicts.has(r.state.verdict));
  rows.sort((a, b) => compareStates(a, b) ||
    String(a.input).localeCompare(String(b.input)) ||
    networkKey(a.probe_cc, a.probe_asn).localeCompare(networkKey(b.probe_cc, b.probe_asn)));

  clear(main);
  append(main, h('h1', null, 'Overview'), filtersForm(f, networks, counts));
  const words = sourceWords();
  const summary = `${rows.length} of ${results.length} target × network pairs` +
    ` seen in the ${RANGES[f.range].label}${words ? `, ${words}` : ''}; state over the ${WINDOWS[f.window]}` +
    `${truncated ? ' (list truncated: narrow the filters)' : ''}.`;
  main.appendChild(h('p', { class: 'muted', id: 'status', 'aria-live': 'polite' }, summary));
  if (!rows.length) {
    let empty = 'No measurements yet. Upload some with `vigie probe --collector URL` or `POST /api/v1/bulk`.';
    if (results.length) empty = 'Nothing matches these filters.';
    else if (words) empty = `No measurement ${words} was seen in the ${RANGES[f.range].label}.`;
    main.appendChild(h('p', { class: 'empty', 'data-testid': 'empty' }, empty));
    return;
  }

  const table = h('table', { class: 'targets', 'data-testid': 'targets' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, `State (${WINDOWS[f.window]})`),
      h('th', { scope: 'col' }, 'Target'),
      h('th', { scope: 'col' }, 'Network'),
      h('th', { scope: 'col' }, 'Since'),
      h('th', { scope: 'col' }, `Last ${SPARK_DAYS} days`),
      h('th', { scope: 'col' }, 'Latest'))));
  const tbody = h('tbody');
  table.appendChild(tbody);
  const sparkCells = [];
  for (const r of rows) {
    const since = parseUtc(r.since);
    const spark = h('div', { class: 'spark' });
    sparkCells.push({ el: spark, r });
    const st = r.state;
    tbody.appendChild(h('tr', { 'data-verdict': st.verdict, 'data-latest': r.x_verdict, 'data-intermittent': st.intermittent ? 'true' : null },
      h('td', { 'data-label': `State (${WINDOWS[f.window]})` }, badge(st.verdict),
        st.total && st.n < st.total ? h('span', { class: 'wshare', 'data-testid': 'share' }, ` ${shareText(st.n, st.total)}`) : null,
        st.intermittent ? h('span', { class: 'tag intermittent', title: 'interference and access both seen in the window' }, 'intermittent') : null,
        r.x_cause && st.verdict === r.x_verdict ? h('span', { class: 'cause' }, r.x_cause) : null,
        st.verdict !== r.x_verdict ? h('span', { class: 'latest muted small' }, `latest: ${r.x_verdict}`) : null),
      h('td', { 'data-label': 'Target', class: 'target' },
        h('a', { href: targetLink(r.input) }, String(r.input)),
        hasCerts(r.input) ? h('a', { class: 'certs-link small', href: certsLink(r.input, r.probe_cc, r.probe_asn), 'data-testid': 'certs-link', title: 'the certificate chains seen on this network' }, 'certificates') : null),
      h('td', { 'data-label': 'Network' }, `${r.probe_cc} · ${r.probe_asn}`),
      h('td', { 'data-label': 'Since' }, timeEl(r.since),
        since ? h('span', { class: 'muted small' }, ` (${ago(since, now.getTime())})`) : null),
      h('td', { 'data-label': `Last ${SPARK_DAYS} days` }, spark),
      h('td', { 'data-label': 'Latest' }, r.measurement_uid
        ? h('a', { href: measurementLink(r.measurement_uid), title: 'the latest measurement' }, timeEl(r.last_seen))
        : timeEl(r.last_seen))));
  }
  main.appendChild(h('div', { class: 'table-wrap' }, table));

  // Sparklines come second: the table is usable before they arrive.
  const wanted = [];
  const seen = new Set();
  for (const { r } of sparkCells) {
    const k = networkKey(r.probe_cc, r.probe_asn);
    if (!seen.has(k)) { seen.add(k); wanted.push({ cc: r.probe_cc, asn: r.probe_asn }); }
  }
  if (!f.by) {
    const since = sparkSince();
    let perRow;
    try {
      perRow = await sparkDataUrl(sparkCells.map((c) => c.r), since, stale);
    } catch (e) {
      for (const { el } of sparkCells) el.appendChild(h('span', { class: 'muted small' }, 'unavailable'));
      return;
    }
    if (stale()) return;
    sparkCells.forEach(({ el }, i) => {
      if (perRow[i]) sparkline(el, sparkBuckets(since, perRow[i]));
      else el.appendChild(h('span', { class: 'muted small', title: `only the first ${SPARK_MAX_ROWS} rows` }, '—'));
    });
    return;
  }
  let sd;
  try {
    sd = await sparkData(wanted);
  } catch (e) {
    for (const { el } of sparkCells) el.appendChild(h('span', { class: 'muted small' }, 'unavailable'));
    return;
  }
  if (stale()) return;
  for (const { el, r } of sparkCells) {
    const byDomain = sd.byNet[networkKey(r.probe_cc, r.probe_asn)];
    if (!byDomain) {
      el.appendChild(h('span', { class: 'muted small' }, '—'));
      continue;
    }
    sparkline(el, sparkBuckets(sd.since, byDomain[r.domain]));
  }
}
