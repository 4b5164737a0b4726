// SPDX-License-Identifier: MIT
// seed.mjs - lab-like measurements for the dashboard tests, made from real measurements captured
// in the censorship lab (tests/data/dashboard/lab-capture.jsonl, `vigie probe --helper` in
// vg-client: the 2014 iCloud MITM with its self-signed C=cn/O=www.icloud.com/CN=www.icloud.com
// leaf on 198.51.100.30; Facebook reset on its SNI, answered with a block page over HTTP, and
// its name answered by an injected DNS reply; the same sites on a clean network). Each capture is copied across networks and the last
// days, with new times and ids, so that the dashboard has history to show; plus one measurement
// full of markup in every attacker-controlled string (the XSS seed).
//
// node seed.mjs [--now ISO] > seed.jsonl   (also imported by dashboard.test.mjs)

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CAPTURE = path.join(here, '..', 'data', 'dashboard', 'lab-capture.jsonl');

// The hostile strings: if any of them ran, window.__vigieXss would be set.
export const XSS = {
  title: '<script>window.__vigieXss = "title"</script><img src=x onerror="window.__vigieXss=\'title-img\'">',
  subject: 'C=cn/O=<img src=x onerror="window.__vigieXss=\'subject\'">/CN=<script>window.__vigieXss="cn"</script>',
  header: '<svg onload="window.__vigieXss=\'header\'">',
  evidence: 'block page titled <img src=x onerror="window.__vigieXss=\'evidence\'"> <script>window.__vigieXss="evidence"</script>',
};
export const XSS_INPUT = 'http://xss.example/?q=<script>window.__vigieXss="input"</script>';

export const NETWORKS = [
  { cc: 'CN', asn: 'AS4134' }, // where the interception happens
  { cc: 'IR', asn: 'AS197207' }, // Facebook blocked, iCloud intermittent
  { cc: 'IT', asn: 'AS3269' }, // clean
];

function pad(n) {
  return String(n).padStart(2, '0');
}

function ooniTime(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function loadCaptures() {
  const byKey = {};
  for (const line of readFileSync(CAPTURE, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line);
    byKey[`${m.input} ${m.test_keys.x_cause || m.test_keys.x_verdict}`] = m;
  }
  return byKey;
}

function copy(m, t, net) {
  const c = structuredClone(m);
  c.measurement_start_time = ooniTime(t);
  c.test_start_time = c.measurement_start_time;
  c.probe_cc = net.cc;
  c.probe_asn = net.asn;
  c.id = randomUUID();
  return c;
}

// Which capture (input + x_cause, or verdict when no cause) each (input, network, day back, slot)
// gets.
function plan(input, net, daysBack, slot) {
  const icloud = input === 'https://www.icloud.com/';
  const fbHttps = input === 'https://www.facebook.com/';
  const fbHttp = input === 'http://www.facebook.com/';
  if (net.cc === 'CN') {
    if (icloud) return daysBack <= 3 ? 'tls.mitm' : 'accessible';
    if (fbHttps) return 'tls.reset';
    if (fbHttp) return 'http.blockpage';
  }
  if (net.cc === 'IR') {
    if (icloud) return (daysBack + slot) % 3 === 0 ? 'tls.mitm' : 'accessible';
    if (fbHttp) return daysBack <= 6 ? 'http.blockpage' : 'accessible';
    if (fbHttps) return daysBack <= 6 ? 'dns.injected' : 'accessible';
  }
  return 'accessible';
}

// Every seed measurement, oldest first: 10 days x 4 a day x 3 networks x 4 inputs, + XSS.
export function makeSeed(now = new Date()) {
  const cap = loadCaptures();
  const inputs = ['https://www.icloud.com/', 'https://www.facebook.com/', 'http://www.facebook.com/',
    'https://www.example.org/'];
  const out = [];
  const base = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let daysBack = 9; daysBack >= 0; daysBack--) {
    for (let slot = 0; slot < 4; slot++) {
      const t = new Date(base - daysBack * 86400000 + slot * 6 * 3600000 + 5 * 60000);
      if (t > now) continue;
      for (const net of NETWORKS) {
        for (const input of inputs) {
          const which = plan(input, net, daysBack, slot);
          const m = cap[`${input} ${which}`];
          if (!m) throw new Error(`no capture for ${input} ${which}`);
          out.push(copy(m, new Date(t.getTime() + inputs.indexOf(input) * 1000), net));
        }
      }
    }
  }
  out.push(xssSeed(cap, new Date(now.getTime() - 3600000)));
  return out;
}

// The demo's run (scripts/demo) as its database holds it: one network (the lab's ZZ AS0), every
// URL measured once per scenario a few minutes apart (none, dns-bogon, dns-inject, tcp-drop,
// tls-sni-rst, http-blockpage, tls-mitm-selfsigned, tls-mitm-rogue-ca), then six trials of
// tls-mitm-intermittent, where iCloud is intercepted in 4 of 6 and the last trial is accessible.
// https://www.facebook.com/ is blocked four times and intercepted once (rogue CA); its http://
// twin is blocked three times and never intercepted: two targets of one domain, two histories.
export const DEMO_NET = { cc: 'ZZ', asn: 'AS0' };
export const DEMO_INTERMITTENT = ['tls.mitm', 'accessible', 'tls.mitm', 'tls.mitm', 'tls.mitm', 'accessible'];

export function makeDemoSeed(now = new Date()) {
  const cap = loadCaptures();
  const fbs = 'https://www.facebook.com/';
  const fb = 'http://www.facebook.com/';
  const icloud = 'https://www.icloud.com/';
  const org = 'https://www.example.org/';
  const scenarios = [
    {},
    { [fbs]: 'dns.injected', [fb]: 'http.blockpage' },
    { [fbs]: 'dns.injected', [fb]: 'http.blockpage' },
    { [fbs]: 'tls.reset' },
    { [fbs]: 'tls.reset' },
    { [fb]: 'http.blockpage' },
    { [icloud]: 'tls.mitm' },
    { [fbs]: 'rogue-ca' },
    ...DEMO_INTERMITTENT.map((c) => ({ [icloud]: c })),
  ];
  const out = [];
  const start = now.getTime() - (scenarios.length + 1) * 120000;
  scenarios.forEach((sc, i) => {
    [org, fbs, icloud, fb].forEach((input, k) => {
      const which = sc[input] || 'accessible';
      let m;
      if (which === 'rogue-ca') {
        // no capture of Facebook intercepted: iCloud's interception, retargeted
        m = structuredClone(cap[`${icloud} tls.mitm`]);
        m.input = input;
      } else {
        m = cap[`${input} ${which}`];
      }
      if (!m) throw new Error(`no capture for ${input} ${which}`);
      out.push(copy(m, new Date(start + i * 120000 + k * 1000), DEMO_NET));
    });
  });
  return out;
}

// The Facebook block page measurement with markup in every string a censor controls.
export function xssSeed(cap, t) {
  const m = copy(cap['http://www.facebook.com/ http.blockpage'], t, NETWORKS[0]);
  const tk = m.test_keys;
  m.input = XSS_INPUT;
  tk.x_evidence = XSS.evidence;
  tk.x_cause = 'http.blockpage';
  for (const r of tk.requests) {
    if (r.request) r.request.url = XSS_INPUT;
    if (r.response) {
      r.response.x_title = XSS.title;
      r.response.headers = { ...(r.response.headers || {}), 'X-Block': XSS.header, [XSS.header]: 'name' };
      r.response.headers_list = Object.entries(r.response.headers);
    }
  }
  if (tk.control && tk.control.http_request) {
    tk.control.http_request.title = XSS.title;
    tk.control.http_request.headers = { Server: XSS.header };
  }
  // A TLS handshake whose certificate names are markup (the censor picks them).
  tk.tls_handshakes = [{
    network: 'tcp', address: '198.51.100.20:443', cipher_suite: 'TLS_AES_256_GCM_SHA384',
    failure: 'ssl_unknown_authority', negotiated_protocol: '', no_tls_verify: false,
    peer_certificates: [], server_name: 'xss.example', t0: 0.01, t: 0.02, tags: ['depth=0'],
    tls_version: 'TLSv1.3', transaction_id: 9,
    x_certificates: [{
      subject: XSS.subject, issuer: XSS.subject, not_before: '2026-01-01T00:00:00Z',
      not_after: '<script>window.__vigieXss="date"</script>', sha256: '<img src=x onerror=1>',
      spki_sha256: 'ab', self_signed: true,
    }],
    x_handshake_failure: null, x_verify_reason: `self-signed certificate ${XSS.subject}`,
  }];
  return m;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--now');
  const now = i > 0 ? new Date(process.argv[i + 1]) : new Date();
  for (const m of makeSeed(now)) process.stdout.write(`${JSON.stringify(m)}\n`);
}
