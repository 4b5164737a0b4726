// SPDX-License-Identifier: MIT
// links.js - the dashboard's own links: "#/path?k=v" (empty values dropped). Every link keeps
// the source shown (source.js: trusted, provenance) unless params set it.

import { sourceParams } from './source.js';

export function link(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...sourceParams(), ...(params || {}) })) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export const targetLink = (input, extra) => link('/target', { input, ...(extra || {}) });
export const measurementLink = (uid) => link(`/measurement/${encodeURIComponent(uid)}`);
export const networkKey = (cc, asn) => `${cc} ${asn}`;
