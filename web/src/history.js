// SPDX-License-Identifier: MIT
// history.js - the verdict history of one URL (a target: http:// and https:// of a site are two),
// counted here from its measurements (GET /api/v1/measurements?input=), in the shapes of the
// aggregation route's results so that the charts read either. The aggregation's count tables
// are kept per domain: they serve the explicit domain view (by=domain) only.

import * as api from './api.js';
import { VERDICTS } from './verdicts.js';

export const HISTORY_MAX_PAGES = 10; // x 1000 measurements of one URL per view

// Measurements of input in [since, until) (ISO times), more filters in extra. { rows, truncated }.
export async function urlMeasurements(input, since, until, extra = {}, maxPages = HISTORY_MAX_PAGES) {
  const { results, truncated } = await api.measurementsAll({ input, since, until, ...extra }, maxPages);
  return { rows: results, truncated };
}

// Group measurements by key(m) into aggregation-like rows: {key fields..., VERDICT: n, total}.
export function countBy(rows, keyOf) {
  const groups = new Map();
  for (const m of rows) {
    const fields = keyOf(m);
    const k = JSON.stringify(fields);
    let g = groups.get(k);
    if (!g) {
      g = { ...fields, total: 0 };
      for (const v of VERDICTS) g[v] = 0;
      groups.set(k, g);
    }
    if (Object.prototype.hasOwnProperty.call(g, m.x_verdict)) g[m.x_verdict]++;
    g.total++;
  }
  return [...groups.values()];
}

const dayOf = (m) => String(m.measurement_start_time).slice(0, 10);
const hourOf = (m) => `${String(m.measurement_start_time).slice(0, 13)}:00:00Z`;

export const byDay = (rows) => countBy(rows, (m) => ({ measurement_day: dayOf(m) }));
export const byHour = (rows) => countBy(rows, (m) => ({ measurement_hour: hourOf(m) }));
export const byNetDay = (rows) => countBy(rows, (m) => ({ probe_asn: m.probe_asn, measurement_day: dayOf(m) }));
