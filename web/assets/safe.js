// Helpers that keep what users and clusters control inert.

// safeHref returns the URL when it is an absolute http(s) URL, else null:
// javascript:, data:, vbscript: and relative URLs never become links.
export function safeHref(value) {
  if (typeof value !== 'string' || value.length > 2048) return null;
  let url;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.href;
}

// safeReturn keeps a post-login return path on this site: a path that
// starts with one slash, never //host or /\host.
export function safeReturn(value) {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (value.startsWith('/login') || value.length > 2048) return '/';
  return value;
}

// shortRev shortens a commit SHA or an OCI digest for display.
export function shortRev(rev) {
  if (!rev) return '';
  const i = rev.indexOf(':');
  const tail = i >= 0 ? rev.slice(i + 1) : rev;
  return /^[0-9a-f]{12,}$/i.test(tail) ? tail.slice(0, 7) : rev.slice(0, 20);
}
