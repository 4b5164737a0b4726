// SPDX-License-Identifier: MIT
// charts.js - the dashboard's charts, all drawn by uPlot: stacked verdict bars (target page) and
// the same in miniature, normalised per day, as the overview's sparklines. This file only shapes
// data for uPlot (cumulative sums for stacking) and picks its options; uPlot draws.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.js';
import { INFO, VERDICTS, canvasFill } from './verdicts.js';

// Bottom to top: interference at the baseline, where it is easiest to read.
const STACK = ['intercepted', 'blocked', 'down', 'unknown', 'accessible'];

const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

// buckets: [{t: unix seconds, accessible: n, blocked: n, ...}], sorted by t.
// Returns uPlot data: [xs, cum(accessible), ..., cum(intercepted)] (top of the stack first, so
// that each series' bar, drawn from 0, is overdrawn by the ones below it) and the raw counts.
function stackData(buckets, normalise) {
  const xs = buckets.map((b) => b.t);
  const raw = {};
  for (const v of VERDICTS) raw[v] = buckets.map((b) => b[v] || 0);
  const cum = [];
  let run = buckets.map(() => 0);
  for (const v of STACK) {
    run = run.map((s, i) => s + raw[v][i]);
    cum.push(run);
  }
  const totals = cum[cum.length - 1];
  const series = cum.map((col) => col.map((s, i) => {
    if (totals[i] === 0) return null;
    return normalise ? s / totals[i] : s;
  }));
  return { data: [xs, ...series.reverse()], raw, totals };
}

function barSeries(verdict, raw, mini) {
  return {
    label: INFO[verdict].label,
    stroke: INFO[verdict].color,
    width: mini ? 0 : 1,
    fill: (u) => canvasFill(u.ctx, verdict),
    paths: uPlot.paths.bars({ size: [mini ? 0.9 : 0.8, 60], gap: mini ? 0 : 1 }),
    points: { show: false },
    // The legend shows counts, not the cumulative value the bar is drawn to.
    value: (u, v, si, di) => (di == null || v == null ? '—' : String(raw[verdict][di])),
  };
}

// Keep a chart as wide as its container.
function fitWidth(u, el, height) {
  if (typeof ResizeObserver === 'undefined') return;
  const ro = new ResizeObserver(() => {
    const w = Math.floor(el.clientWidth);
    if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
  });
  ro.observe(el);
}

function register(el, u) {
  // Tests (tests/browser) look the charts up through their container.
  el.vigieChart = u;
  el.setAttribute('data-testid', el.getAttribute('data-testid') || 'chart');
}

// The target page's chart: counts per verdict per step (3600 or 86400 seconds).
export function stackedChart(el, buckets, step) {
  const { data, raw } = stackData(buckets, false);
  const height = 260;
  const width = Math.max(280, Math.floor(el.clientWidth) || 600);
  const opts = {
    width,
    height,
    tzDate: utc,
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [
      {
        stroke: 'currentColor',
        grid: { stroke: 'rgba(128,128,128,0.2)' },
        space: 50,
        incrs: step === 3600 ? [3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400]
          : [86400, 2 * 86400, 7 * 86400, 14 * 86400],
        values: (u, splits) => splits.map((ts) => tick(ts, step)),
      },
      {
        stroke: 'currentColor',
        grid: { stroke: 'rgba(128,128,128,0.2)' },
        label: step === 3600 ? 'measurements per hour' : 'measurements per day',
        size: 50,
      },
    ],
    series: [
      { label: 'time (UTC)', value: (u, ts) => (ts == null ? '—' : fmtStep(ts, step)) },
      ...[...STACK].reverse().map((v) => barSeries(v, raw, false)),
    ],
  };
  const u = new uPlot(opts, data, el);
  register(el, u);
  fitWidth(u, el, height);
  return u;
}

// Axis labels in UTC, 24-hour: "11-29" for days, "06:00" for hours (the date at midnight).
function tick(ts, step) {
  const iso = new Date(ts * 1000).toISOString();
  if (step === 3600 && iso.slice(11, 13) !== '00') return iso.slice(11, 16);
  return iso.slice(5, 10);
}

function fmtStep(ts, step) {
  const iso = new Date(ts * 1000).toISOString();
  return step === 3600 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : `${iso.slice(0, 10)} UTC`;
}

// The overview's sparkline: one bar per day, the share of each verdict that day.
export function sparkline(el, buckets) {
  const { data, raw, totals } = stackData(buckets, true);
  const opts = {
    width: 140,
    height: 30,
    tzDate: utc,
    padding: [2, 0, 2, 0],
    cursor: { show: false },
    legend: { show: false },
    scales: { x: { time: true }, y: { range: [0, 1] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, ...[...STACK].reverse().map((v) => barSeries(v, raw, true))],
  };
  const u = new uPlot(opts, data, el);
  register(el, u);
  const days = totals.filter((t) => t > 0).length;
  const bad = buckets.filter((b) => (b.blocked || 0) + (b.intercepted || 0) > 0).length;
  el.setAttribute('title', `${bad} of ${days} days with measurements show interference ` +
    `(blocked or intercepted); one bar per day, UTC`);
  return u;
}

// Empty-state placeholder for a chart with no data.
export function noData(text) {
  return h('p', { class: 'muted' }, text || 'No measurements in this period.');
}
