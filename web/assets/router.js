// Client-side routes: every page and every selected node has a URL.
import { useEffect, useState } from './lib.js';

const listeners = new Set();

export function currentPath() {
  return location.pathname + location.search;
}

export function navigate(to, { replace = false } = {}) {
  if (to === currentPath()) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

// setQuery changes query parameters of the current page without a new
// history entry (filters), and drops empty ones.
export function setQuery(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v == null || v === false) q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? '?' + s : ''), { replace: true });
}

function notify() {
  for (const l of listeners) l();
}

addEventListener('popstate', notify);

export function useLocation() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// onLinkClick turns a plain left click on a same-site link into a route
// change; modified clicks (new tab) keep the browser's behaviour. On a
// link it handles the link; on any other element, the links inside it (one
// handler for many links).
export function onLinkClick(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const el = ev.currentTarget;
  const a = el instanceof HTMLAnchorElement ? el : ev.target.closest?.('a[href]');
  if (!a || !el.contains(a) || a.target || a.origin !== location.origin) return;
  ev.preventDefault();
  navigate(a.pathname + a.search);
}

// match returns the path parameters when the pattern (like
// /applications/:ns/:name) matches the path.
export function match(pattern, path) {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (p.length !== s.length) return null;
  const out = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) {
      if (!s[i]) return null;
      try {
        out[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) return null;
  }
  return out;
}
