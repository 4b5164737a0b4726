// SPDX-License-Identifier: MIT
// main.js - the dashboard's entry point: a hash router over three pages.
//   #/                        overview (every target x network, latest verdict)
//   #/target?input=URL        one target: time series, networks x days grid, measurements
//   #/measurement/UID         one measurement next to its control
//   #/certificates?input=URL  the certificate chains seen for a target (and network)
// Filters live in the hash's query string, so every view is a link that can be shared; on every
// page, trusted=true (trusted sources only) and provenance=NAME choose whose uploads are shown.

import { h, clear } from './dom.js';
import { legend } from './verdicts.js';
import { renderOverview } from './overview.js';
import { renderTarget } from './target.js';
import { renderMeasurement } from './measurement.js';
import { renderCerts } from './certs.js';
import { link } from './links.js';
import { readSource, setSource, renderSourceSwitch } from './source.js';
// Last, so that it comes after uPlot's stylesheet in app.css and may refine it.
import './style.css';

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  return { path, params };
}

let generation = 0;

async function route() {
  const main = document.getElementById('main');
  const { path, params } = parseHash();
  const gen = ++generation;
  // A slow answer for a page the user already left must not overwrite the new page.
  const stale = () => gen !== generation;
  setSource(readSource(params));
  const slot = document.getElementById('source');
  if (slot) renderSourceSwitch(slot);
  clear(main);
  main.setAttribute('aria-busy', 'true');
  for (const a of document.querySelectorAll('a[data-page=overview]')) a.setAttribute('href', link('/'));
  for (const a of document.querySelectorAll('nav a')) {
    a.removeAttribute('aria-current');
    if (path === '/' || path === '') a.setAttribute('aria-current', 'page');
  }
  try {
    if (path === '/' || path === '') {
      document.title = 'vigie — overview';
      await renderOverview(main, params, stale);
    } else if (path === '/target') {
      document.title = 'vigie — target';
      await renderTarget(main, params, stale);
    } else if (path === '/certificates') {
      document.title = 'vigie — certificates';
      await renderCerts(main, params, stale);
    } else if (path.startsWith('/measurement/')) {
      document.title = 'vigie — measurement';
      await renderMeasurement(main, decodeURIComponent(path.slice('/measurement/'.length)), stale);
    } else {
      main.appendChild(h('p', { class: 'error' }, 'No such page. ', h('a', { href: link('/') }, 'Back to the overview.')));
    }
  } catch (e) {
    if (!stale()) {
      clear(main);
      main.appendChild(h('div', { class: 'error', role: 'alert' },
        h('strong', null, 'Could not load this page: '), e.message || String(e)));
    }
  } finally {
    if (!stale()) main.setAttribute('aria-busy', 'false');
  }
}

function init() {
  const legendSlot = document.getElementById('legend');
  if (legendSlot) legendSlot.appendChild(legend());
  window.addEventListener('hashchange', route);
  route();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', init);
} else {
  init();
}
