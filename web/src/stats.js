// SPDX-License-Identifier: MIT
// stats.js - a target's state over a window (GET /api/v1/targets?window=, docs/api.md): the
// Wilson score interval (the same formula as lib/util/stats.c), the share text the probe prints
// ("intercepted 4/10 (40%, 95% CI 17-69%)"), the state shown for a row and the overview's order.

import { VERDICTS, rank } from './verdicts.js';

export const WINDOWS = {
  '1h': 'last hour',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
  '30d': 'last 30 days',
};
export const DEFAULT_WINDOW = '24h';

// The 95% Wilson score interval of k successes in n trials, as fractions [lo, hi].
export function wilson(k, n) {
  if (!n) return [0, 1];
  const z = 1.959964;
  const p = Math.min(k, n) / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const pct = (x) => `${Math.round(100 * x)}%`;

// "4/10 (40%, 95% CI 17-69%)"; "10/10" when every trial agrees.
export function shareText(k, n) {
  if (!n) return '0/0';
  if (k === n) return `${k}/${n}`;
  const [lo, hi] = wilson(k, n);
  return `${k}/${n} (${pct(k / n)}, 95% CI ${Math.round(100 * lo)}-${pct(hi)})`;
}

const INTERFERENCE = ['intercepted', 'blocked'];

// What a row of the overview stands for over the window: the interference seen in it (the more
// frequent of intercepted and blocked; intercepted on a tie), whatever the last trial said, else
// the latest verdict. { verdict, n, total, intermittent, latest, share, last }.
export function windowState(r) {
  const w = r.window;
  const latest = r.x_verdict;
  if (!w || !w.total) {
    return { verdict: latest, n: 0, total: 0, intermittent: false, latest, share: 0, last: '' };
  }
  const count = (v) => (w.verdicts && w.verdicts[v] ? w.verdicts[v].n : 0);
  let verdict = latest;
  const inter = INTERFERENCE.filter((v) => count(v) > 0).sort((a, b) => count(b) - count(a) || rank(a) - rank(b));
  if (inter.length) verdict = inter[0];
  else if (count(latest) === 0) verdict = VERDICTS.find((v) => count(v) > 0) || latest;
  return {
    verdict,
    n: count(verdict),
    total: w.total,
    intermittent: !!w.intermittent,
    latest,
    share: w.interference ? w.interference.n / w.total : 0,
    last: w.last_interference || '',
  };
}

// The overview's order: the state's severity (intercepted, blocked, down, unknown, accessible),
// then the share of interference in the window, then the latest interference (recency), then
// since when the latest verdict holds (newest first).
export function compareStates(a, b) {
  return rank(a.state.verdict) - rank(b.state.verdict) ||
    b.state.share - a.state.share ||
    String(b.state.last).localeCompare(String(a.state.last)) ||
    String(b.since).localeCompare(String(a.since));
}
