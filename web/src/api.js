// SPDX-License-Identifier: MIT
// api.js - the query API of `vigie serve` (docs/api.md), same origin only. The list routes
// (targets, measurements, aggregation) carry the source the dashboard shows (source.js).

import { sourceParams } from './source.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function get(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const url = q.toString() ? `${path}?${q}` : path;
  let r;
  try {
    r = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${e.message})`);
  }
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    throw new ApiError(r.status, `HTTP ${r.status}: the answer is not JSON`);
  }
  if (!r.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : `HTTP ${r.status}`;
    throw new ApiError(r.status, msg);
  }
  return body;
}

// Every page of a paged route (results + next_cursor), up to maxPages pages of limit rows.
export async function getAll(path, params, maxPages = 20, limit = 1000) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await get(path, { ...params, limit, cursor });
    out.push(...(page.results || []));
    cursor = page.next_cursor;
    if (!cursor) return { results: out, truncated: false };
  }
  return { results: out, truncated: true };
}

export const targets = (params) => getAll('/api/v1/targets', { ...params, ...sourceParams() });
export const measurements = (params) => get('/api/v1/measurements', { ...params, ...sourceParams() });
export const measurementsAll = (params, maxPages) => getAll('/api/v1/measurements', { ...params, ...sourceParams() }, maxPages);
export const aggregation = (params) => get('/api/v1/aggregation', { ...params, ...sourceParams() });
export const certificates = (params) => get('/api/v1/certificates', { ...params, ...sourceParams() });
export const measurement = (uid) => get(`/api/v1/measurement/${encodeURIComponent(uid)}`);
// The stored row: who decided the verdict (x_analyzer) and, for a measurement from elsewhere,
// vigie's verdict, cause and evidence (docs/api.md); null when it cannot be read.
export const analysis = (uid) => get(`/api/v1/measurement/${encodeURIComponent(uid)}/analysis`).catch(() => null);
// The incident report of a target on a network (GET /api/v1/incident): HTML, or its JSON.
export function incidentUrl(input, cc, asn, window, format) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ input, probe_cc: cc, probe_asn: asn, window, format, ...sourceParams() })) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  return `/api/v1/incident?${q.toString()}`;
}
export const rawUrl = (uid) => `/api/v1/measurement/${encodeURIComponent(uid)}`;
