// The one door to the server's API (docs/api.md). Every write carries the
// CSRF token; a 401 sends the user to the login page and back afterwards.
import { navigate, currentPath } from './router.js';

let csrfToken = '';

export function setCSRF(token) {
  csrfToken = token || '';
}

function csrfFromCookie() {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'flotilla_csrf') {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return '';
      }
    }
  }
  return '';
}

export class APIError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.retryAfter = retryAfter;
  }
}

export function toLogin() {
  const here = currentPath();
  if (location.pathname === '/login') return;
  navigate('/login?return=' + encodeURIComponent(here), { replace: true });
}

// request sends one API call. opts.text answers the body as text,
// opts.raw the Response itself (for streamed logs), opts.public skips the
// redirect to the login page on a 401.
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: opts.text || opts.raw ? 'text/plain' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken || csrfFromCookie();
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal: opts.signal,
  });
  if (!res.ok) {
    let e = {};
    try {
      e = await res.json();
    } catch {
      // Not a JSON error body: the status says enough.
    }
    const err = new APIError(res.status, e.code, e.message, res.headers.get('Retry-After'));
    if (res.status === 401 && !opts.public) toLogin();
    throw err;
  }
  if (opts.raw) return res;
  if (opts.text) return res.text();
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body === undefined ? {} : body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

// listAll follows a list's continue tokens.
export async function listAll(path, opts) {
  const items = [];
  let cont = '';
  for (let i = 0; i < 100; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=1000${cont ? '&continue=' + encodeURIComponent(cont) : ''}`, opts);
    items.push(...(page.items || []));
    cont = page.continue;
    if (!cont) break;
  }
  return items;
}

export function appPath(ns, name) {
  return `/api/v1/applications/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
}
