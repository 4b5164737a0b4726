// SPDX-License-Identifier: MIT
// dom.js - the only way the dashboard builds DOM. Every string from a measurement is
// attacker-controlled (block page titles, certificate subjects, headers, even the URL), so text
// always goes in through text nodes, never through innerHTML; attributes go through an allow-list
// (no event handlers, no style), and links through safeHref().

const ALLOWED_ATTRS = new Set([
  'class', 'id', 'title', 'href', 'datetime', 'role', 'type', 'value', 'name', 'for',
  'placeholder', 'colspan', 'rowspan', 'scope', 'tabindex', 'target', 'rel', 'hidden',
  'aria-label', 'aria-live', 'aria-current', 'aria-hidden', 'aria-pressed', 'aria-sort',
  'data-label', 'data-verdict', 'data-testid', 'data-latest', 'data-intermittent', 'data-state', 'data-by', 'checked', 'selected', 'list', 'autocomplete',
  'inputmode', 'spellcheck',
]);

// A link target we are willing to put in an href: our own routes (#/...) and API paths (/api/...).
// Anything else (javascript:, data:, other sites) becomes inert text.
export function safeHref(href) {
  if (typeof href !== 'string') return null;
  if (href.startsWith('#/')) return href;
  if (href.startsWith('/api/v1/') && !href.startsWith('//')) return href;
  return null;
}

function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) return;
  if (!ALLOWED_ATTRS.has(name)) {
    throw new Error(`dom: attribute ${name} is not allowed`);
  }
  if (name === 'href') {
    const safe = safeHref(String(value));
    if (safe === null) return;
    value = safe;
  }
  el.setAttribute(name, value === true ? '' : String(value));
}

// h('td', {class: 'x', title: t}, 'text', childNode, [more, children]) -> HTMLElement.
// Strings and numbers become text nodes; null/undefined/false children are skipped.
// on: {click: fn} attaches listeners (functions, never strings).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else {
        setAttr(el, k, v);
      }
    }
  }
  appendList(el, children);
  return el;
}

// append(el, child, [children], ...): the same rules as h()'s children.
export function append(el, ...children) {
  return appendList(el, children);
}

function appendList(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) {
      appendList(el, c);
    } else if (c instanceof Node) {
      el.appendChild(c);
    } else {
      el.appendChild(document.createTextNode(String(c)));
    }
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Text for any JSON value: strings as they are, other values as JSON, null as an em dash.
export function str(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
