// SPDX-License-Identifier: MIT
// measurement.js - one measurement, its evidence next to the control's (the helper's view from an
// uncensored network, test_keys.control): DNS replies, TCP connects, TLS chains, the HTTP
// response; then the verdict's evidence sentence and a link to the raw JSON. Everything shown here
// comes from the measurement, i.e. from the network and the probe: all of it is text.

import * as api from './api.js';
import { h, append, clear, str } from './dom.js';
import { link, targetLink } from './links.js';
import { badge } from './verdicts.js';
import { timeEl } from './time.js';

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const arr = (v) => (Array.isArray(v) ? v : []);
const ms = (sec) => (typeof sec === 'number' && isFinite(sec) ? `${Math.round(sec * 1000)} ms` : '—');

function ok(flag, yes, no) {
  if (flag === null || flag === undefined) return h('span', { class: 'muted' }, '—');
  return flag ? h('span', { class: 'ok' }, `✓ ${yes}`) : h('span', { class: 'bad' }, `✕ ${no}`);
}

function failure(f) {
  return f == null ? h('span', { class: 'ok' }, '✓ success') : h('span', { class: 'bad' }, `✕ ${str(f)}`);
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function sideBySide(probe, control, testid, wide) {
  return h('div', { class: `side-by-side${wide ? ' wide-probe' : ''}`, 'data-testid': testid || null },
    h('div', { class: 'side probe' }, h('h3', null, 'Probe'), probe),
    h('div', { class: 'side control' }, h('h3', null, 'Control'), control));
}

function table(cols, rows, cls) {
  return h('div', { class: 'table-wrap' }, h('table', { class: cls || 'evidence' },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => h('td', { 'data-label': cols[i] }, c)))))));
}

function answerText(a) {
  a = obj(a);
  const ttl = a.ttl == null ? '' : ` (TTL ${a.ttl})`;
  if (a.answer_type === 'A') return `A ${str(a.ipv4)}${ttl}`;
  if (a.answer_type === 'AAAA') return `AAAA ${str(a.ipv6)}${ttl}`;
  if (a.answer_type === 'CNAME') return `CNAME ${str(a.hostname)}`;
  return str(a);
}

// ---- DNS ----------------------------------------------------------------------------------

function dnsSection(tk, control) {
  const cdns = obj(control.dns);
  const ctrlAddrs = new Set(arr(cdns.addrs).filter((x) => typeof x === 'string'));
  const haveControl = control.dns !== undefined;
  const replies = [
    ...arr(tk.queries).map((q) => ({ q: obj(q), kind: 'first reply' })),
    ...arr(tk.x_dns_duplicate_responses).map((q) => ({ q: obj(q), kind: 'later reply' })),
  ];
  const rows = replies.map(({ q, kind }) => {
    const answers = arr(q.answers).length
      ? h('ul', { class: 'plain' }, arr(q.answers).map((a) => {
        const ip = obj(a).ipv4 || obj(a).ipv6;
        const foreign = haveControl && typeof ip === 'string' && !ctrlAddrs.has(ip);
        return h('li', { class: foreign ? 'bad' : null, title: foreign ? 'the control did not get this address' : null },
          answerText(a), foreign ? ' ✕ not in control' : null);
      }))
      : '—';
    return [
      `${str(q.engine)}${q.resolver_address ? ` ${q.resolver_address}` : ''}`,
      `${str(q.query_type)} ${str(q.hostname)}`,
      kind,
      answers,
      q.failure == null ? (q.rcode === undefined ? '✓' : `rcode ${str(q.rcode)}`) : h('span', { class: 'bad' }, str(q.failure)),
      `${ms(q.t)}${typeof q.t === 'number' && typeof q.t0 === 'number' ? ` (+${Math.round((q.t - q.t0) * 1000)} ms)` : ''}`,
      q.x_ip_ttl == null || q.x_ip_ttl < 0 ? '—' : String(q.x_ip_ttl),
    ];
  });
  const probe = replies.length
    ? table(['Resolver', 'Query', 'Which', 'Answers', 'Result', 'At (after sending)', 'IP TTL'], rows)
    : h('p', { class: 'muted' }, 'No DNS lookup (IP literal, or none recorded).');
  const ctrl = haveControl
    ? kv([
      ['Result', failure(cdns.failure)],
      ['Addresses', arr(cdns.addrs).length ? h('ul', { class: 'plain' }, arr(cdns.addrs).map((a) => h('li', null, str(a)))) : '—'],
      ['Consistency (OONI)', str(tk.dns_consistency)],
    ])
    : h('p', { class: 'muted' }, 'No control.');
  return h('section', null, h('h2', null, 'DNS'), sideBySide(probe, ctrl, 'dns', true));
}

// ---- TCP ----------------------------------------------------------------------------------

function endpointOf(ip, port) {
  return String(ip).includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function tcpSection(tk, control) {
  const ctcp = obj(control.tcp_connect);
  const seen = new Set();
  const rows = arr(tk.tcp_connect).map((c) => {
    c = obj(c);
    const ep = endpointOf(c.ip, c.port);
    seen.add(ep);
    const st = obj(c.status);
    const cc = ctcp[ep];
    return [ep, st.success ? h('span', { class: 'ok' }, '✓ connected') : failure(st.failure || 'failed'),
      ms(typeof c.t === 'number' && typeof c.t0 === 'number' ? c.t - c.t0 : null),
      cc === undefined ? h('span', { class: 'muted' }, 'not measured') : (obj(cc).status ? h('span', { class: 'ok' }, '✓ connected') : failure(obj(cc).failure || 'failed'))];
  });
  for (const [ep, cc] of Object.entries(ctcp)) {
    if (seen.has(ep)) continue;
    rows.push([ep, h('span', { class: 'muted' }, 'not tried'), '—', obj(cc).status ? h('span', { class: 'ok' }, '✓ connected') : failure(obj(cc).failure || 'failed')]);
  }
  return h('section', null, h('h2', null, 'TCP connect'),
    rows.length ? table(['Endpoint', 'Probe', 'Probe time', 'Control'], rows) : h('p', { class: 'muted' }, 'No TCP connect.'));
}

// ---- TLS ----------------------------------------------------------------------------------

function fingerprint(hex) {
  if (typeof hex !== 'string' || !hex) return '—';
  return h('code', { class: 'fp' }, hex.toUpperCase().match(/.{1,2}/g).join(':'));
}

function chain(certs, side, otherFps) {
  if (!certs.length) return h('p', { class: 'muted' }, 'No certificate.');
  return h('ol', { class: 'chain', 'data-testid': `chain-${side}` }, certs.map((c, i) => {
    c = obj(c);
    const same = typeof c.sha256 === 'string' && otherFps.has(c.sha256);
    return h('li', { class: 'cert' },
      h('p', { class: 'cert-role' }, i === 0 ? 'leaf' : `certificate ${i + 1}`,
        c.self_signed ? h('span', { class: 'bad' }, ' · self-signed') : null,
        otherFps.size ? (same ? h('span', { class: 'ok' }, ' · same as the other side') : h('span', { class: 'bad' }, ' · not in the other chain')) : null),
      kv([
        ['Subject', h('span', { class: 'subject' }, str(c.subject))],
        ['Issuer', h('span', { class: 'issuer' }, str(c.issuer))],
        c.not_before !== undefined || c.not_after !== undefined
          ? ['Valid', [timeEl(c.not_before), ' → ', timeEl(c.not_after)]] : null,
        ['SHA-256', fingerprint(c.sha256)],
        c.spki_sha256 ? ['SPKI SHA-256', fingerprint(c.spki_sha256)] : null,
      ]));
  }));
}

function tlsSection(tk, control) {
  const ctls = obj(control.tls_handshake);
  const probeBy = new Map();
  for (const t of arr(tk.tls_handshakes)) probeBy.set(String(obj(t).address), obj(t));
  const eps = [...new Set([...probeBy.keys(), ...Object.keys(ctls)])];
  if (!eps.length) return null;
  const cards = eps.map((ep) => {
    const p = probeBy.get(ep);
    const c = ctls[ep] === undefined ? null : obj(ctls[ep]);
    const pc = p ? arr(p.x_certificates) : [];
    const cc = c ? arr(c.x_chain) : [];
    const pFps = new Set(pc.map((x) => obj(x).sha256).filter(Boolean));
    const cFps = new Set(cc.map((x) => obj(x).sha256).filter(Boolean));
    const probeSide = p ? [
      kv([
        ['Handshake', p.x_handshake_failure == null && p.tls_version ? h('span', { class: 'ok' }, `✓ ${str(p.tls_version)} ${str(p.cipher_suite)}`) : failure(p.x_handshake_failure || p.failure)],
        ['Certificate', p.failure == null ? h('span', { class: 'ok' }, '✓ valid for the host') : h('span', { class: 'bad' }, `✕ ${str(p.failure)}`)],
        p.x_verify_reason ? ['Why', str(p.x_verify_reason)] : null,
        ['Server name', str(p.server_name)],
      ]),
      chain(pc, 'probe', cFps),
    ] : h('p', { class: 'muted' }, 'The probe did not handshake here.');
    const ctrlSide = c ? [
      kv([
        ['Handshake', c.failure == null && c.status !== false ? h('span', { class: 'ok' }, `✓ ${str(c.x_tls_version)} ${str(c.x_cipher_suite)}`) : failure(c.failure)],
        ['Certificate', ok(c.x_valid, 'valid for the host', 'not valid')],
        ['Server name', str(c.server_name)],
      ]),
      chain(cc, 'control', pFps),
    ] : h('p', { class: 'muted' }, 'The control did not handshake here.');
    return h('article', { class: 'endpoint' }, h('h3', { class: 'ep' }, ep), sideBySide(probeSide, ctrlSide, 'tls'));
  });
  return h('section', null, h('h2', null, 'TLS handshakes and certificate chains'), cards);
}

// ---- HTTP ---------------------------------------------------------------------------------

function headerTable(headers) {
  const entries = Object.entries(obj(headers));
  if (!entries.length) return '—';
  return h('dl', { class: 'headers' }, entries.map(([k, v]) => [h('dt', null, k), h('dd', null, str(v))]));
}

function httpSection(tk, control) {
  const reqs = arr(tk.requests).map(obj);
  const fin = reqs[0];
  const ch = control.http_request === undefined ? null : obj(control.http_request);
  // dns:// and tls:// targets: no request on either side, no empty section.
  if (!fin && !ch) return null;
  const resp = fin ? obj(fin.response) : {};
  // OONI's control writes -1 for what it did not get: not a value to show.
  const got = (v) => typeof v === 'number' && v >= 0;
  const probe = fin ? kv([
    ['URL', str(obj(fin.request).url)],
    ['Result', failure(fin.failure)],
    ['Status', str(resp.code)],
    ['Title', h('span', { class: 'title', 'data-testid': 'probe-title' }, str(resp.x_title))],
    ['Body length', resp.x_body_length == null ? '—' : `${resp.x_body_length} bytes${resp.body_is_truncated ? ' (truncated)' : ''}`],
    ['Body SHA-256', resp.x_body_sha256 ? h('code', { class: 'fp' }, String(resp.x_body_sha256)) : '—'],
    ['Headers', headerTable(resp.headers)],
  ]) : h('p', { class: 'muted' }, 'No HTTP request.');
  const ctrl = ch ? kv([
    ['Result', failure(ch.failure)],
    ['Status', got(ch.status_code) ? str(ch.status_code) : h('span', { class: 'muted' }, 'no response')],
    ['Title', h('span', { class: 'title' }, str(ch.title))],
    ['Body length', got(ch.body_length) ? `${ch.body_length} bytes` : '—'],
    ['Body SHA-256', ch.x_body_sha256 ? h('code', { class: 'fp' }, String(ch.x_body_sha256)) : '—'],
    ['Headers', headerTable(ch.headers)],
  ]) : h('p', { class: 'muted' }, 'No control.');
  const cmp = kv([
    ['Status code', ok(tk.status_code_match, 'matches the control', 'differs from the control')],
    ['Title', ok(tk.title_match, 'matches', 'differs')],
    ['Body length', ok(tk.body_length_match, 'matches', 'differs')],
    ['Body proportion', typeof tk.body_proportion === 'number' ? tk.body_proportion.toFixed(3) : str(tk.body_proportion)],
    ['Headers', ok(tk.headers_match, 'match', 'differ')],
  ]);
  const chainRows = [...reqs].reverse().map((r, i) => [String(i), str(obj(r.request).url), str(r.address) || '—',
    r.failure == null ? str(obj(r.response).code) : h('span', { class: 'bad' }, str(r.failure))]);
  return h('section', null, h('h2', null, 'HTTP'), sideBySide(probe, ctrl, 'http'),
    h('h3', null, 'Comparison with the control (OONI)'), cmp,
    reqs.length > 1 ? [h('h3', null, 'Redirect chain'), table(['Hop', 'URL', 'Address', 'Status'], chainRows)] : null);
}

// ---- page ---------------------------------------------------------------------------------

export async function renderMeasurement(main, uid, stale) {
  append(main, h('p', { class: 'muted' }, 'Loading…'));
  const [raw, row] = await Promise.all([api.measurement(uid), api.analysis(uid)]);
  if (stale()) return;
  clear(main);
  const m = obj(raw);
  const tk = obj(m.test_keys);
  // vigie's verdict: the probe's own (in the measurement), or the collector's analysis of a
  // measurement from elsewhere (OONI's blocking/accessible are never shown as vigie's verdict).
  const an = obj(row);
  const byProbe = !row || an.x_analyzer === 'probe';
  const v = byProbe ? tk : an;
  const by = byProbe ? 'vigie probe' : an.x_analyzer ? `vigie analysis (${str(an.x_analyzer)})` : 'not analysed (no rules for this test)';
  const control = obj(tk.control);
  const input = typeof m.input === 'string' ? m.input : null;

  append(main,
    h('p', { class: 'crumbs' }, h('a', { href: link('/') }, 'Overview'), ' › ',
      input ? h('a', { href: targetLink(input) }, 'target') : 'target', ' › measurement'),
    h('h1', { class: 'target-title' }, str(input)),
    h('section', { class: 'verdict-box', 'data-testid': 'verdict' },
      h('p', { class: 'verdict-line' }, badge(v.x_verdict),
        v.x_cause ? h('span', { class: 'cause' }, str(v.x_cause)) : null),
      h('p', { class: 'evidence-text', 'data-testid': 'evidence' }, str(v.x_evidence)),
      kv([
        ['Verdict by', h('span', { 'data-testid': 'analyzer' }, by)],
        ['Measured', timeEl(m.measurement_start_time, true)],
        ['Network', `${str(m.probe_cc)} · ${str(m.probe_asn)}${m.probe_network_name ? ` (${m.probe_network_name})` : ''}`],
        ['Probe', `${str(m.software_name)} ${str(m.software_version)}`],
        ['Trial', str(tk.x_trial)],
        ["OONI's own blocking / accessible", `${str(tk.blocking)} / ${str(tk.accessible)}`],
        ['Control', tk.control == null ? h('span', { class: 'muted' }, `none${tk.control_failure ? ` (${str(tk.control_failure)})` : ''}`) : 'yes'],
        ['Measurement', h('code', null, uid)],
        ['Raw JSON', h('a', { href: api.rawUrl(uid), 'data-testid': 'raw-link' }, 'download')],
      ])),
    dnsSection(tk, control),
    tcpSection(tk, control),
    tlsSection(tk, control),
    httpSection(tk, control));
}
