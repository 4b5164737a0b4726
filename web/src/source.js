// SPDX-License-Identifier: MIT
// source.js - whose uploads the dashboard shows: every one, only those made with an upload
// credential ("trusted sources only": trusted=true), or one credential's (provenance=NAME; a
// credential's name, or "anonymous"). Kept in the URL hash of every page like the other filters;
// the router sets it (setSource) before a page is drawn, api.js adds it to every list query and
// links.js to every link, so that it holds while one browses.

import { h } from './dom.js';

// The names vigie serve gives credentials (docs/api.md), and "anonymous".
const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

let current = { trusted: false, provenance: '' };

export function readSource(params) {
  const p = params.get('provenance') || '';
  return { trusted: params.get('trusted') === 'true', provenance: NAME_RE.test(p) ? p : '' };
}

export function setSource(s) {
  current = { trusted: !!s.trusted, provenance: s.provenance || '' };
}

export function source() {
  return current;
}

// The query parameters of the source (none when everything is shown).
export function sourceParams(s = current) {
  const q = {};
  if (s.trusted) q.trusted = 'true';
  if (s.provenance) q.provenance = s.provenance;
  return q;
}

// Words for a page's summary: '' when everything is shown.
export function sourceWords(s = current) {
  if (s.provenance) return `uploaded with the credential ${s.provenance}`;
  if (s.trusted) return 'from trusted sources (uploads made with a credential)';
  return '';
}

// The current page's hash with the source changed (trusted: bool; provenance: name or '').
function hashWith(change) {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  for (const [k, v] of Object.entries(change)) {
    if (v === true) params.set(k, 'true');
    else if (v) params.set(k, v);
    else params.delete(k);
  }
  const s = params.toString();
  return `${path}${s ? `?${s}` : ''}`;
}

// The header's switch and, when one credential is picked, its name with a way back to all.
export function renderSourceSwitch(slot) {
  while (slot.firstChild) slot.removeChild(slot.firstChild);
  const box = h('input', {
    type: 'checkbox', id: 'f-trusted', checked: current.trusted, 'data-testid': 'trusted-switch',
  });
  box.addEventListener('change', () => {
    location.hash = hashWith({ trusted: box.checked });
  });
  slot.appendChild(h('label', {
    for: 'f-trusted', class: 'switch',
    title: 'show only measurements uploaded with an upload credential (vigie probe --collector-token)',
  }, box, ' Trusted sources only'));
  if (current.provenance) {
    const clearIt = h('button', { type: 'button', class: 'link', 'aria-label': 'show every source' }, '×');
    clearIt.addEventListener('click', () => {
      location.hash = hashWith({ provenance: '' });
    });
    slot.appendChild(h('span', { class: 'provenance-filter', 'data-testid': 'provenance-filter' },
      'source: ', h('code', null, current.provenance), ' ', clearIt));
  }
}
