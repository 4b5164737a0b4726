// SPDX-License-Identifier: MIT
// target.js - one target (a URL): per network its latest verdict and its state over a window
// (shares with intervals), a stacked time series of verdicts per hour or day, a networks x days
// grid coloured by the worst verdict seen, and its measurements. History is the URL's own
// (history.js: http:// and https:// of a site are two targets); by=domain shows every URL of
// its domain instead, from the per-domain count tables. Each measurement names its source
// (the upload credential, or anonymous): a credential's name filters the page by it.

import * as api from './api.js';
import { h, append, clear } from './dom.js';
import { link, measurementLink, networkKey } from './links.js';
import { VERDICTS, INFO, badge } from './verdicts.js';
import { timeEl, isoDay, apiTime, parseUtc } from './time.js';
import { stackedChart, noData } from './charts.js';
import { RANGES } from './overview.js';
import { sourceWords } from './source.js';
import { certsLink, hasCerts, incidentLinks } from './certs.js';
import { urlMeasurements, byDay, byHour, byNetDay } from './history.js';
import { WINDOWS, DEFAULT_WINDOW, windowState, shareText } from './stats.js';

const PAGE = 50;

function domainOf(input) {
  try {
    return new URL(input).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch (e) {
    return '';
  }
}

// Every step of [since, until) with the aggregation's counts, zeros where nothing was measured.
function buckets(rows, key, since, until, step) {
  const byKey = new Map(rows.map((r) => [r[key], r]));
  const out = [];
  for (let t = since; t < until; t += step) {
    const d = new Date(t * 1000);
    const k = step === 3600 ? `${d.toISOString().slice(0, 13)}:00:00Z` : isoDay(d);
    const r = byKey.get(k) || {};
    const b = { t };
    for (const v of VERDICTS) b[v] = r[v] || 0;
    out.push(b);
  }
  return out;
}

function grid(rows, days) {
  // rows: aggregation by probe_asn x measurement_day.
  const nets = [...new Set(rows.map((r) => r.probe_asn))].sort();
  if (!nets.length) return noData();
  const cell = new Map(rows.map((r) => [`${r.probe_asn}|${r.measurement_day}`, r]));
  const table = h('table', { class: 'grid', 'data-testid': 'grid' },
    h('caption', null, 'Networks × days: the worst verdict of the day, with its share of the day\'s measurements'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Network'),
      days.map((d) => h('th', { scope: 'col', title: `${d} (UTC)` }, d.slice(5))))));
  const tbody = h('tbody');
  for (const n of nets) {
    tbody.appendChild(h('tr', null, h('th', { scope: 'row' }, n), days.map((d) => {
      const r = cell.get(`${n}|${d}`);
      if (!r || !r.total) return h('td', { class: 'none', title: `${n}, ${d}: no measurement` }, '');
      const worst = VERDICTS.find((v) => r[v] > 0) || 'unknown';
      const parts = VERDICTS.filter((v) => r[v] > 0).map((v) => `${r[v]} ${v}`).join(', ');
      return h('td', { class: `pat-${worst}`, 'data-verdict': worst, title: `${n}, ${d} (UTC): ${parts}` },
        h('span', { class: 'glyph', 'aria-hidden': 'true' }, INFO[worst].glyph),
        h('span', { class: 'share' }, `${r[worst]}/${r.total}`));
    })));
  }
  table.appendChild(tbody);
  return h('div', { class: 'table-wrap' }, table);
}

// Who uploaded a measurement: a credential's name (a link that shows only its uploads), or
// anonymous; '—' from a collector that does not say.
function sourceCell(p, filterHref) {
  if (typeof p !== 'string' || !p) return '—';
  if (p === 'anonymous') return h('span', { class: 'muted' }, 'anonymous');
  return h('a', { href: filterHref(p), title: `show only the uploads made with ${p}` }, p);
}

function measurementRows(tbody, results, filterHref) {
  for (const m of results) {
    tbody.appendChild(h('tr', { 'data-verdict': m.x_verdict },
      h('td', { 'data-label': 'Time' }, h('a', { href: measurementLink(m.measurement_uid) }, timeEl(m.measurement_start_time, true))),
      h('td', { 'data-label': 'Network' }, `${m.probe_cc} · ${m.probe_asn}`),
      h('td', { 'data-label': 'Verdict' }, badge(m.x_verdict)),
      h('td', { 'data-label': 'Cause' }, m.x_cause == null ? '—' : String(m.x_cause)),
      h('td', { 'data-label': 'OONI blocking' }, m.blocking == null ? '—' : String(m.blocking)),
      h('td', { 'data-label': 'Source', class: 'source' }, sourceCell(m.provenance, filterHref))));
  }
}

export async function renderTarget(main, params, stale) {
  const input = params.get('input') || '';
  if (!input) {
    main.appendChild(h('p', { class: 'error' }, 'No target given. ', h('a', { href: link('/') }, 'Back to the overview.')));
    return;
  }
  const rangeKey = RANGES[params.get('range')] && params.get('range') !== 'all' ? params.get('range') : '7d';
  const stepParam = params.get('step');
  const step = stepParam === 'hour' || (stepParam !== 'day' && rangeKey === '1d') ? 3600 : 86400;
  const now = Math.floor(Date.now() / 1000);
  const until = Math.floor(now / step) * step + step;
  const since = until - Math.ceil(RANGES[rangeKey].seconds / step) * step;

  append(main, h('p', { class: 'crumbs' }, h('a', { href: link('/') }, 'Overview'), ' › target'),
    h('h1', { class: 'target-title' }, String(input)), h('p', { class: 'muted' }, 'Loading…'));

  const byDomain = params.get('by') === 'domain';
  const win = WINDOWS[params.get('window')] ? params.get('window') : DEFAULT_WINDOW;
  const latest = await api.targets({ input, window: win });
  if (stale()) return;
  const domain = (latest.results[0] && latest.results[0].domain) || domainOf(input);
  const sinceIso = apiTime(new Date(since * 1000));
  const untilIso = apiTime(new Date(until * 1000));
  const gridSinceIso = apiTime(new Date((until - 14 * 86400 > since ? since : until - 14 * 86400) * 1000));
  let series;
  let perNet;
  let first;
  let truncated = false;
  if (byDomain) {
    [series, perNet, first] = await Promise.all([
      domain ? api.aggregation({ domain, axis_x: step === 3600 ? 'measurement_hour' : 'measurement_day', since: sinceIso, until: untilIso }) : { result: [] },
      domain ? api.aggregation({ domain, axis_x: 'probe_asn', axis_y: 'measurement_day', since: gridSinceIso, until: untilIso }) : { result: [] },
      api.measurements({ input, limit: PAGE }),
    ]);
  } else {
    // The URL's own measurements over the chart's range and the grid's (the longer of the two).
    let hist;
    [hist, first] = await Promise.all([
      urlMeasurements(input, gridSinceIso < sinceIso ? gridSinceIso : sinceIso, untilIso),
      api.measurements({ input, limit: PAGE }),
    ]);
    const inRange = hist.rows.filter((m) => { const d = parseUtc(m.measurement_start_time); return d && d.getTime() >= since * 1000; });
    series = { result: step === 3600 ? byHour(inRange) : byDay(inRange) };
    perNet = { result: byNetDay(hist.rows) };
    truncated = hist.truncated;
  }
  if (stale()) return;
  clear(main);

  append(main, h('p', { class: 'crumbs' }, h('a', { href: link('/') }, 'Overview'), ' › target'),
    h('h1', { class: 'target-title' }, String(input)));

  // Latest verdict per network, and the state over the window.
  const nets = h('table', { class: 'targets', 'data-testid': 'latest' },
    h('thead', null, h('tr', null, ['Network', 'Verdict', `${WINDOWS[win]}`, 'Since', 'Last seen', 'Latest measurement'].map((c) => h('th', { scope: 'col' }, c)))));
  const nb = h('tbody');
  for (const r of latest.results) {
    const st = windowState(r);
    nb.appendChild(h('tr', { 'data-verdict': r.x_verdict, 'data-state': st.verdict },
      h('td', { 'data-label': 'Network' }, `${r.probe_cc} · ${r.probe_asn}`,
        hasCerts(input) ? h('a', { class: 'certs-link small', href: certsLink(input, r.probe_cc, r.probe_asn), 'data-testid': 'certs-link' }, 'certificates') : null,
        incidentLinks(input, r.probe_cc, r.probe_asn, win)),
      h('td', { 'data-label': 'Verdict' }, badge(r.x_verdict), r.x_cause ? h('span', { class: 'cause' }, String(r.x_cause)) : null),
      h('td', { 'data-label': WINDOWS[win], class: 'window' }, st.total
        ? [`${st.verdict} ${shareText(st.n, st.total)}`, st.intermittent ? h('span', { class: 'tag intermittent' }, 'intermittent') : null]
        : h('span', { class: 'muted' }, 'no measurement')),
      h('td', { 'data-label': 'Since' }, timeEl(r.since)),
      h('td', { 'data-label': 'Last seen' }, timeEl(r.last_seen)),
      h('td', { 'data-label': 'Latest measurement' }, r.measurement_uid ? h('a', { href: measurementLink(r.measurement_uid) }, 'open') : '—')));
  }
  nets.appendChild(nb);
  append(main, h('section', null, h('h2', null, 'Latest verdict per network'),
    latest.results.length ? h('div', { class: 'table-wrap' }, nets) : noData('No measurement of this target.')));

  // Time series.
  const ranges = h('nav', { class: 'chips', 'aria-label': 'Time range and resolution' },
    ['1d', '7d', '30d'].map((k) => h('a', {
      class: `chip${k === rangeKey ? ' on' : ''}`, href: link('/target', { input, range: k, step: stepParam, by: byDomain ? 'domain' : '' }),
      'aria-pressed': k === rangeKey ? 'true' : 'false',
    }, RANGES[k].label)),
    ['hour', 'day'].map((s) => h('a', {
      class: `chip${(s === 'hour') === (step === 3600) ? ' on' : ''}`,
      href: link('/target', { input, range: rangeKey, step: s, by: byDomain ? 'domain' : '' }),
      'aria-pressed': (s === 'hour') === (step === 3600) ? 'true' : 'false',
    }, `per ${s}`)));
  const chartEl = h('div', { class: 'chart', 'data-testid': 'timeseries' });
  const b = buckets(series.result || [], step === 3600 ? 'measurement_hour' : 'measurement_day', since, until, step);
  const total = b.reduce((s, x) => s + VERDICTS.reduce((t, v) => t + x[v], 0), 0);
  const scope = h('nav', { class: 'chips', 'aria-label': 'History of this URL or of its whole domain', 'data-testid': 'by' },
    h('a', { class: `chip${byDomain ? '' : ' on'}`, 'data-by': 'url', 'aria-pressed': byDomain ? 'false' : 'true', href: link('/target', { input, range: params.get('range'), step: stepParam }) }, 'this URL'),
    h('a', { class: `chip${byDomain ? ' on' : ''}`, 'data-by': 'domain', 'aria-pressed': byDomain ? 'true' : 'false', href: link('/target', { input, range: params.get('range'), step: stepParam, by: 'domain' }) }, `every URL of ${domain || 'its domain'}`));
  const what = byDomain ? `All URLs of ${domain || 'this target'}` : 'This URL only';
  append(main, h('section', null,
    h('h2', null, 'Verdicts over time'),
    scope,
    h('p', { class: 'muted small', 'data-testid': 'history-scope' }, `${what}, every network${sourceWords() ? `, ${sourceWords()}` : ''}, ${RANGES[rangeKey].label}, per ${step === 3600 ? 'hour' : 'day'} (UTC). ${total} measurements${truncated ? ' (the newest only: more than the page reads)' : ''}.`),
    ranges, total ? chartEl : noData()));
  if (total) stackedChart(chartEl, b, step);

  // Grid: networks x the last 14 days (or the range, when longer).
  const gridDays = [];
  for (let t = until - 86400 * Math.max(14, Math.ceil((until - since) / 86400)); t < until; t += 86400) {
    gridDays.push(isoDay(new Date(Math.floor(t / 86400) * 86400 * 1000)));
  }
  const uniqDays = [...new Set(gridDays)].slice(-31);
  append(main, h('section', null, h('h2', null, 'Networks × days'), grid(perNet.result || [], uniqDays)));

  // Measurements, newest first, paged.
  const mt = h('table', { class: 'measurements', 'data-testid': 'measurements' },
    h('thead', null, h('tr', null, ['Time', 'Network', 'Verdict', 'Cause', 'OONI blocking', 'Source'].map((c) => h('th', { scope: 'col' }, c)))));
  const mb = h('tbody');
  mt.appendChild(mb);
  const filterHref = (p) => link('/target', { input, range: params.get('range'), step: stepParam, provenance: p });
  measurementRows(mb, first.results || [], filterHref);
  const section = h('section', null, h('h2', null, 'Measurements'), h('div', { class: 'table-wrap' }, mt));
  let cursor = first.next_cursor;
  const more = h('button', { type: 'button', class: 'more' }, 'Load more');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await api.measurements({ input, limit: PAGE, cursor });
      measurementRows(mb, page.results || [], filterHref);
      cursor = page.next_cursor;
    } catch (e) {
      section.appendChild(h('p', { class: 'error' }, e.message));
    }
    more.disabled = false;
    if (!cursor) more.remove();
  });
  if (cursor) section.appendChild(more);
  main.appendChild(section);
}
