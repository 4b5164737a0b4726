// SPDX-License-Identifier: MIT
// certs.js - certificates seen for one target (and network): every distinct chain the probes
// and the control were served (GET /api/v1/certificates, docs/api.md), side by side, the chains
// that did not validate first and marked. A probe chain whose leaf key the control never saw is
// what a forged certificate looks like.
//   #/certificates?input=URL[&probe_cc=CC&probe_asn=ASN]

import * as api from './api.js';
import { h, append, clear, str } from './dom.js';
import { link, targetLink, measurementLink } from './links.js';
import { timeEl } from './time.js';

// The view's link (the overview and the target page point here).
export const certsLink = (input, cc, asn) => link('/certificates', { input, probe_cc: cc, probe_asn: asn });

// "incident report · JSON": the report of the target on a network (every network: the one with
// the most interference), opened in a new tab; window: the target page's, else the route's 30 days.
export function incidentLinks(input, cc, asn, window) {
  const a = (format, text, title) => h('a', {
    class: 'incident-link small', href: api.incidentUrl(input, cc, asn, window, format), target: '_blank',
    rel: 'noopener', 'data-testid': `incident-${format}`, title,
  }, text);
  return h('span', { class: 'incident-links' }, a('html', 'incident report', 'the incident report of this network (a page to save, print or publish)'),
    ' · ', a('json', 'JSON', 'the incident report as JSON'));
}

// Only what is fetched over TLS carries certificates.
export const hasCerts = (input) => /^(https|tls):\/\//i.test(String(input || ''));

function fingerprint(hex) {
  if (typeof hex !== 'string' || !hex) return '—';
  return h('code', { class: 'fp' }, hex.toUpperCase().match(/.{1,2}/g).join(':'));
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function validity(c) {
  if (c.not_before == null && c.not_after == null) return null;
  return ['Valid', [timeEl(c.not_before), ' → ', timeEl(c.not_after)]];
}

// One chain seen: leaf first; other: the other side's leaf keys (SPKI SHA-256).
function chainCard(c, side, otherKeys) {
  const known = typeof c.leaf_spki_sha256 === 'string' && otherKeys.has(c.leaf_spki_sha256);
  const certs = Array.isArray(c.chain) ? c.chain : [];
  return h('article', { class: `seen-chain${c.valid ? '' : ' invalid'}`, 'data-testid': `seen-${side}` },
    h('p', { class: 'cert-role' },
      c.valid ? h('span', { class: 'ok' }, '✓ valid for the host') : h('span', { class: 'bad' }, '✕ not valid'),
      c.self_signed ? h('span', { class: 'bad' }, ' · self-signed') : null,
      otherKeys.size ? (known ? h('span', { class: 'ok' }, ' · same key as the other side')
        : h('span', { class: 'bad' }, ` · key never seen by the ${side === 'probe' ? 'control' : 'probes'}`)) : null),
    kv([
      ['Subject', h('span', { class: 'subject' }, str(c.subject))],
      ['Issuer', h('span', { class: 'issuer' }, str(c.issuer))],
      validity(c),
      !c.valid && Array.isArray(c.reasons) && c.reasons.length ? ['Why', c.reasons.map(str).join('; ')] : null,
      ['Leaf SHA-256', fingerprint(c.leaf_sha256)],
      ['SPKI SHA-256', fingerprint(c.leaf_spki_sha256)],
      ['Served by', Array.isArray(c.addresses) && c.addresses.length ? c.addresses.map(str).join(', ') : '—'],
      ['Seen', [`${str(c.count)} handshake${c.count === 1 ? '' : 's'} in ${str(c.measurements)} measurement${c.measurements === 1 ? '' : 's'}, `,
        timeEl(c.first_seen), ' → ', timeEl(c.last_seen)]],
      ['Latest', typeof c.last_measurement_uid === 'string'
        ? h('a', { href: measurementLink(c.last_measurement_uid) }, 'open the measurement') : '—'],
    ]),
    certs.length > 1 ? h('details', null, h('summary', null, `the whole chain (${certs.length} certificates)`),
      h('ol', { class: 'chain' }, certs.map((x, i) => h('li', { class: 'cert' },
        h('p', { class: 'cert-role' }, i === 0 ? 'leaf' : `certificate ${i + 1}`),
        kv([['Subject', str(x.subject)], ['Issuer', str(x.issuer)], validity(x),
          ['SHA-256', fingerprint(x.sha256)], ['SPKI SHA-256', fingerprint(x.spki_sha256)]]))))) : null);
}

function column(list, side, otherKeys) {
  if (!list.length) {
    return h('p', { class: 'muted' }, side === 'probe' ? 'No certificate recorded by the probes.'
      : 'No chain recorded by the control (OONI\'s test helper records none).');
  }
  return list.map((c) => chainCard(c, side, otherKeys));
}

export async function renderCerts(main, params, stale) {
  const input = params.get('input') || '';
  const cc = params.get('probe_cc') || '';
  const asn = params.get('probe_asn') || '';
  const crumbs = () => h('p', { class: 'crumbs' }, h('a', { href: link('/') }, 'Overview'), ' › ',
    input ? h('a', { href: targetLink(input) }, 'target') : 'target', ' › certificates');
  if (!input) {
    main.appendChild(h('p', { class: 'error' }, 'No target given. ', h('a', { href: link('/') }, 'Back to the overview.')));
    return;
  }
  append(main, crumbs(), h('h1', { class: 'target-title' }, String(input)), h('p', { class: 'muted' }, 'Loading…'));
  const r = await api.certificates({ input, probe_cc: cc, probe_asn: asn });
  if (stale()) return;
  clear(main);
  const probe = Array.isArray(r.probe) ? r.probe : [];
  const control = Array.isArray(r.control) ? r.control : [];
  const keys = (l) => new Set(l.map((c) => c.leaf_spki_sha256).filter(Boolean));
  const bad = probe.filter((c) => !c.valid).length;
  append(main, crumbs(), h('h1', { class: 'target-title' }, String(input)),
    h('h2', null, `Certificates seen${cc ? ` on ${cc} · ${asn}` : ', every network'}`, incidentLinks(input, cc, asn)),
    h('p', { class: 'muted', 'data-testid': 'certs-summary' },
      `${probe.length} chain${probe.length === 1 ? '' : 's'} seen by the probes` +
      `${bad ? ` (${bad} not valid)` : ''}, ${control.length} by the control, in the newest ` +
      `${r.measurements} measurement${r.measurements === 1 ? '' : 's'}${r.truncated ? ' (older ones not read)' : ''}.`),
    h('div', { class: 'side-by-side', 'data-testid': 'certs' },
      h('div', { class: 'side probe' }, h('h3', null, 'Probes'), column(probe, 'probe', keys(control))),
      h('div', { class: 'side control' }, h('h3', null, 'Control'), column(control, 'control', keys(probe)))));
}
