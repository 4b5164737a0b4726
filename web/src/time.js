// SPDX-License-Identifier: MIT
// time.js - times are shown in UTC; the local time is in the title (hover).

import { h } from './dom.js';

// Parse the API's "2026-11-29T11:13:46Z" or a measurement's "2026-11-29 11:13:46" (UTC).
export function parseUtc(s) {
  if (typeof s !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?Z?$/.exec(s);
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)));
}

const pad = (n) => String(n).padStart(2, '0');

export function fmtUtc(d, withSeconds) {
  const t = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return (withSeconds ? `${t}:${pad(d.getUTCSeconds())}` : t) + ' UTC';
}

export function fmtLocal(d) {
  return `local time: ${d.toLocaleString(undefined, { timeZoneName: 'short' })}`;
}

// <time datetime="..." title="local time: ...">2026-11-29 11:13 UTC</time>
export function timeEl(s, withSeconds) {
  const d = s instanceof Date ? s : parseUtc(s);
  if (!d) return h('span', null, s == null ? '—' : String(s));
  return h('time', { datetime: d.toISOString(), title: fmtLocal(d) }, fmtUtc(d, withSeconds));
}

// "3 days", "5 hours": how long ago, for "since".
export function ago(d, now) {
  const s = Math.max(0, Math.round(((now || Date.now()) - d.getTime()) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

export function isoDay(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

// The API's time parameter for a Date: "YYYY-MM-DDThh:mm:ssZ".
export function apiTime(d) {
  return `${isoDay(d)}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}
