// SPDX-License-Identifier: MIT
// verdicts.js - the verdicts (docs/verdicts.md): order, colours, patterns and labels.
// The names, most serious first, and their meanings come from the engine's one table
// (VG_VERDICT_MAP in include/vigie/vigie.h) through a module generated at build time
// (web/dashboard.cmake: `vigie verdicts --js`); this file gives each its style.
// Colours are the Okabe-Ito palette, distinguishable with the common colour-vision deficiencies;
// every verdict also has a pattern (CSS class .pat-<verdict>, canvas pattern in charts), a glyph and
// its name written out, so nothing relies on colour alone.

import { VERDICT_NAMES, VERDICT_MEANINGS } from 'vigie-verdict-names';
import { h } from './dom.js';

// One style per verdict; a new verdict needs one here (and .pat-<verdict> in style.css).
const STYLE = {
  intercepted: { color: '#CC79A7', glyph: '⚠', pattern: 'cross' },
  blocked: { color: '#D55E00', glyph: '✕', pattern: 'diagonal' },
  down: { color: '#0072B2', glyph: '↓', pattern: 'horizontal' },
  unknown: { color: '#8C8C8C', glyph: '?', pattern: 'dots' },
  accessible: { color: '#009E73', glyph: '✓', pattern: 'solid' },
};

// The build runs this module alone (web/dashboard.cmake) so that a verdict without a style, or
// a style for a verdict that no longer exists, stops it.
for (const v of VERDICT_NAMES) {
  if (!Object.prototype.hasOwnProperty.call(STYLE, v)) {
    throw new Error(`verdicts.js: the verdict '${v}' (include/vigie/vigie.h) has no style`);
  }
}
for (const v of Object.keys(STYLE)) {
  if (!VERDICT_NAMES.includes(v)) {
    throw new Error(`verdicts.js: a style for '${v}', which is not a verdict`);
  }
}

// Most serious first: the overview sorts by this, the grid shows the worst verdict present.
export const VERDICTS = [...VERDICT_NAMES];

export const INFO = Object.fromEntries(VERDICTS.map((v) => [v, {
  ...STYLE[v], label: v, meaning: VERDICT_MEANINGS[v] || '',
}]));

export function isVerdict(v) {
  return Object.prototype.hasOwnProperty.call(INFO, v);
}

export function rank(v) {
  const i = VERDICTS.indexOf(v);
  return i < 0 ? VERDICTS.length : i;
}

// <span class="badge pat-blocked">✕ blocked</span>; unknown strings are shown as unknown.
export function badge(verdict, extra) {
  const v = isVerdict(verdict) ? verdict : 'unknown';
  const i = INFO[v];
  return h('span', { class: `badge pat-${v}`, 'data-verdict': v, title: extra || null },
    h('span', { class: 'glyph', 'aria-hidden': 'true' }, i.glyph), ' ', i.label);
}

// The legend: every verdict with its swatch (pattern + colour) and name.
export function legend() {
  return h('ul', { class: 'legend', 'aria-label': 'Verdict legend' },
    VERDICTS.map((v) => h('li', { title: INFO[v].meaning },
      h('span', { class: `swatch pat-${v}`, 'aria-hidden': 'true' }, INFO[v].glyph),
      ' ', INFO[v].label)));
}

// A canvas fill for chart series: the verdict's colour with its pattern drawn over it, so that
// stacked areas stay distinguishable without colour. Built once per verdict and cached.
const patternCache = new Map();
export function canvasFill(ctx, verdict) {
  const key = verdict;
  if (patternCache.has(key)) return patternCache.get(key);
  const info = INFO[verdict];
  const size = 8;
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const g = c.getContext('2d');
  g.fillStyle = info.color;
  g.fillRect(0, 0, size, size);
  g.strokeStyle = 'rgba(255,255,255,0.55)';
  g.fillStyle = 'rgba(255,255,255,0.55)';
  g.lineWidth = 1.5;
  g.beginPath();
  switch (info.pattern) {
    case 'diagonal':
      g.moveTo(0, size); g.lineTo(size, 0);
      g.moveTo(-2, 2); g.lineTo(2, -2);
      g.moveTo(size - 2, size + 2); g.lineTo(size + 2, size - 2);
      break;
    case 'cross':
      g.moveTo(0, 0); g.lineTo(size, size);
      g.moveTo(0, size); g.lineTo(size, 0);
      break;
    case 'horizontal':
      g.moveTo(0, size / 2); g.lineTo(size, size / 2);
      break;
    case 'dots':
      g.arc(size / 2, size / 2, 1.3, 0, 2 * Math.PI);
      g.fill();
      break;
    default:
      break;
  }
  g.stroke();
  const p = ctx.createPattern(c, 'repeat') || info.color;
  patternCache.set(key, p);
  return p;
}
