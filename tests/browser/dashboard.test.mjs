// SPDX-License-Identifier: MIT
// dashboard.test.mjs - the dashboard in a real browser (Debian's chromium driven by playwright-core,
// node's test runner): `vigie serve` on 127.0.0.1 with a fresh SQLite database, seeded over
// POST /api/v1/bulk with lab-like measurements (seed.mjs); then the overview, a target page and
// measurement pages are loaded and checked, hostile strings must stay text, and screenshots go
// to the artifacts directory for a person to look at.
//
//   VIGIE=build/vigie VG_NODE_MODULES=build/web/node_modules VG_ARTIFACTS=build/test-artifacts \
//     node --test tests/browser/dashboard.test.mjs
// VG_BASE_URL=http://127.0.0.1:PORT/ tests an already running (and seeded) server instead.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSeed, XSS, XSS_INPUT } from './seed.mjs';

const nodeModules = path.resolve(process.env.VG_NODE_MODULES || 'web/node_modules');
const { chromium } = createRequire(path.join(nodeModules, 'noop.js'))('playwright-core');
const ARTIFACTS = process.env.VG_ARTIFACTS || path.resolve('build/test-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let tmp;
let server;
let base;
let context;
let seed;
const problems = []; // page errors, console errors, CSP violations, off-origin requests

function startServer() {
  return new Promise((resolve, reject) => {
    const db = path.join(tmp, 'dashboard.db');
    const p = spawn(process.env.VIGIE || 'build/vigie',
      ['serve', '--listen', '127.0.0.1:0', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`vigie serve did not start:\n${log}`)), 20000);
    p.stderr.on('data', (b) => {
      log += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(log);
      if (m && !base) {
        clearTimeout(timer);
        resolve({ p, url: m[1].endsWith('/') ? m[1] : `${m[1]}/` });
      }
    });
    p.on('exit', (code) => reject(new Error(`vigie serve exited (${code}):\n${log}`)));
  });
}

async function upload(lines) {
  const r = await fetch(`${base}api/v1/bulk`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson' },
    body: lines.map((m) => JSON.stringify(m)).join('\n'),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body.rejected, [], 'every seed measurement is accepted');
  return body;
}

async function newPage(viewport) {
  const page = await context.newPage();
  await page.setViewportSize(viewport || { width: 1280, height: 900 });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    d.dismiss();
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request outside vigie: ${r.url()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__vigieCsp = (window.__vigieCsp || []).concat(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return page;
}

async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Nothing the measurements carry ran, and the page broke no rule.
async function assertClean(page) {
  const state = await page.evaluate(() => ({
    xss: window.__vigieXss,
    csp: window.__vigieCsp || [],
    imgs: document.querySelectorAll('main img, main svg, main script').length,
  }));
  assert.equal(state.xss, undefined, 'no measurement string ran as code');
  assert.deepEqual(state.csp, [], 'no Content-Security-Policy violation');
  assert.equal(state.imgs, 0, 'no element made from measurement markup');
  assert.deepEqual(problems, []);
}

// The canvas of a chart has drawn pixels (not all transparent).
async function canvasInk(page, selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector(`${sel} canvas`);
    if (!c || !c.width || !c.height) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  }, selector);
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'vigie-dashboard-'));
  seed = makeSeed(new Date());
  if (process.env.VG_BASE_URL) {
    base = process.env.VG_BASE_URL;
  } else {
    server = await startServer();
    base = server.url;
    await upload(seed);
  }
  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timezoneId: 'Europe/Paris', // local time (hover) differs from UTC (shown)
  });
});

after(async () => {
  if (context) await context.close();
  if (server) server.p.kill('SIGTERM');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the page and its assets come from vigie alone, with a strict CSP', async () => {
  const r = await fetch(base);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.headers.get('content-security-policy') || '', /script-src 'self'/);
  const etag = r.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(base, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  const js = await fetch(`${base}assets/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal((await fetch(`${base}assets/nope.js`)).status, 404);
});

test('overview: intercepted iCloud and blocked Facebook come first, with sparklines', async () => {
  const page = await newPage();
  await page.goto(base);
  await page.waitForSelector('[data-testid=targets] tbody tr');
  await page.waitForFunction(() => document.querySelectorAll('.spark canvas').length > 0);
  const rows = await page.$$eval('[data-testid=targets] tbody tr', (trs) => trs.map((tr) => ({
    verdict: tr.getAttribute('data-verdict'),
    text: tr.textContent,
  })));
  assert.ok(rows.length >= 12, `rows: ${rows.length}`);
  assert.equal(rows[0].verdict, 'intercepted');
  const icloud = rows.find((r) => r.text.includes('https://www.icloud.com/') && r.text.includes('CN · AS4134'));
  assert.equal(icloud.verdict, 'intercepted');
  assert.match(icloud.text, /tls\.mitm/);
  const fb = rows.find((r) => r.text.includes('https://www.facebook.com/') && r.text.includes('CN · AS4134'));
  assert.equal(fb.verdict, 'blocked');
  const order = rows.map((r) => ['intercepted', 'blocked', 'down', 'unknown', 'accessible'].indexOf(r.verdict));
  assert.deepEqual(order, [...order].sort((a, b) => a - b), 'interference first');
  // Sparklines: uPlot got 14 days of data and drew them.
  await page.waitForFunction(() => [...document.querySelectorAll('.spark')].every((s) => s.querySelector('canvas')));
  const spark = await page.$eval('.spark', (el) => ({ days: el.vigieChart.data[0].length, series: el.vigieChart.data.length }));
  assert.equal(spark.days, 14);
  assert.equal(spark.series, 6);
  assert.ok(await canvasInk(page, '.spark') > 50, 'the sparkline has drawn pixels');
  // Times: UTC shown, local time on hover.
  const t = await page.$eval('[data-testid=targets] time', (el) => ({ text: el.textContent, title: el.title }));
  assert.match(t.text, /UTC$/);
  assert.match(t.title, /^local time: /);
  await shot(page, 'overview');
  await assertClean(page);
  await page.close();
});

test('overview filters: verdict, domain, network', async () => {
  const page = await newPage();
  await page.goto(`${base}#/?verdict=blocked`);
  await page.waitForSelector('[data-testid=targets] tbody tr');
  const verdicts = await page.$$eval('[data-testid=targets] tbody tr', (trs) => [...new Set(trs.map((tr) => tr.dataset.verdict))]);
  assert.deepEqual(verdicts, ['blocked']);
  await page.goto(`${base}#/?domain=icloud&network=IT%20AS3269`);
  await page.waitForFunction(() => location.hash.includes('domain=icloud'));
  await page.waitForSelector('[data-testid=targets] tbody tr');
  const texts = await page.$$eval('[data-testid=targets] tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(texts.length, 1);
  assert.match(texts[0], /icloud/);
  assert.match(texts[0], /IT · AS3269/);
  // The form drives the same URL.
  await page.goto(base);
  await page.waitForSelector('#f-domain');
  await page.fill('#f-domain', 'facebook');
  await page.press('#f-domain', 'Enter');
  await page.waitForFunction(() => location.hash.includes('domain=facebook'));
  await page.waitForSelector('[data-testid=targets] tbody tr');
  const fb = await page.$$eval('[data-testid=targets] tbody tr', (trs) => trs.every((tr) => tr.textContent.includes('facebook')));
  assert.ok(fb);
  await assertClean(page);
  await page.close();
});

test('target page: stacked time series, networks x days grid, measurements', async () => {
  const page = await newPage();
  await page.goto(`${base}#/target?input=${encodeURIComponent('https://www.icloud.com/')}`);
  await page.waitForSelector('[data-testid=timeseries] canvas');
  const chart = await page.$eval('[data-testid=timeseries]', (el) => {
    const u = el.vigieChart;
    return { n: u.data[0].length, series: u.series.map((s) => s.label), max: Math.max(...u.data[1].filter((v) => v != null)) };
  });
  assert.ok(chart.n >= 7, `points: ${chart.n}`);
  assert.deepEqual(chart.series.slice(1), ['accessible', 'unknown', 'down', 'blocked', 'intercepted']);
  assert.ok(chart.max > 0, 'the stack has data');
  assert.ok(await canvasInk(page, '[data-testid=timeseries]') > 500, 'the chart has drawn pixels');
  const cn = await page.$$eval('[data-testid=grid] tbody tr', (trs) => {
    const tr = trs.find((r) => r.querySelector('th').textContent === 'AS4134');
    return [...tr.querySelectorAll('td')].map((td) => td.dataset.verdict || null);
  });
  assert.equal(cn[cn.length - 1], 'intercepted', 'today, AS4134 sees the interception');
  assert.ok(cn.includes('accessible'), 'and earlier days were clean');
  const ms = await page.$$eval('[data-testid=measurements] tbody tr', (trs) => trs.length);
  assert.ok(ms >= 20);
  await shot(page, 'target');
  // Per hour as well.
  await page.goto(`${base}#/target?input=${encodeURIComponent('https://www.icloud.com/')}&range=1d&step=hour`);
  await page.waitForSelector('[data-testid=timeseries] canvas');
  assert.ok(await canvasInk(page, '[data-testid=timeseries]') > 100);
  await assertClean(page);
  await page.close();
});

async function uidOf(input, cc, verdict) {
  const r = await (await fetch(`${base}api/v1/measurements?input=${encodeURIComponent(input)}&probe_cc=${cc}&x_verdict=${verdict}&limit=1`)).json();
  assert.equal(r.results.length, 1, `a ${verdict} measurement of ${input} in ${cc}`);
  return r.results[0].measurement_uid;
}

test('measurement page: both certificate chains side by side, evidence, raw JSON', async () => {
  const uid = await uidOf('https://www.icloud.com/', 'CN', 'intercepted');
  const page = await newPage();
  await page.goto(`${base}#/measurement/${encodeURIComponent(uid)}`);
  await page.waitForSelector('[data-testid=chain-probe]');
  const probe = await page.$$eval('[data-testid=chain-probe]', (els) => els.map((e) => e.textContent).join('\n'));
  const control = await page.$$eval('[data-testid=chain-control]', (els) => els.map((e) => e.textContent).join('\n'));
  assert.match(probe, /C=cn\/O=www\.icloud\.com\/CN=www\.icloud\.com/);
  assert.match(probe, /self-signed/);
  assert.match(control, /O=Apple Inc\.\/CN=www\.icloud\.com/);
  assert.match(control, /vigie lab TLS CA 1/);
  assert.match(probe + control, /([0-9A-F]{2}:){31}[0-9A-F]{2}/, 'SHA-256 fingerprints');
  const evidence = await page.textContent('[data-testid=evidence]');
  assert.match(evidence, /self-signed certificate C=cn\/O=www\.icloud\.com/);
  const dns = await page.textContent('[data-testid=dns]');
  assert.match(dns, /198\.51\.100\.30/);
  const raw = await page.getAttribute('[data-testid=raw-link]', 'href');
  const rr = await fetch(new URL(raw, base));
  assert.equal(rr.status, 200);
  assert.equal((await rr.json()).test_keys.x_verdict, 'intercepted');
  await shot(page, 'measurement');
  await page.setViewportSize({ width: 390, height: 844 });
  const w = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(w.doc <= w.view + 1, `page ${w.doc}px wide in a ${w.view}px viewport`);
  await shot(page, 'measurement-phone');
  await assertClean(page);
  await page.close();
});

test('hostile strings stay text everywhere', async () => {
  const uid = await uidOf(XSS_INPUT, 'CN', 'blocked');
  const page = await newPage();
  await page.goto(`${base}#/measurement/${encodeURIComponent(uid)}`);
  await page.waitForSelector('[data-testid=probe-title]');
  assert.equal(await page.textContent('[data-testid=probe-title]'), XSS.title, 'the title is shown as text');
  assert.equal(await page.textContent('[data-testid=evidence]'), XSS.evidence);
  assert.match(await page.textContent('[data-testid=chain-probe]'), /onerror/);
  await shot(page, 'xss-measurement');
  await assertClean(page);
  await page.goto(`${base}#/?domain=xss`);
  await page.waitForSelector('[data-testid=targets] tbody tr');
  await page.goto(`${base}#/target?input=${encodeURIComponent(XSS_INPUT)}`);
  await page.waitForSelector('[data-testid=measurements] tbody tr');
  // Hover and click through what a person would touch.
  await page.hover('[data-testid=measurements] tbody tr');
  await assertClean(page);
  await page.close();
});

test('phone width: no horizontal scrolling, tables become cards', async () => {
  const page = await newPage({ width: 390, height: 844 });
  await page.goto(base);
  await page.waitForSelector('[data-testid=targets] tbody tr');
  await page.waitForFunction(() => document.querySelectorAll('.spark canvas').length > 0);
  const w = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(w.doc <= w.view + 1, `page ${w.doc}px wide in a ${w.view}px viewport`);
  await shot(page, 'overview-phone');
  await assertClean(page);
  await page.close();
});
