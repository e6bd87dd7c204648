// Times in the user's time zone, with relative times that keep moving.
import { html, useEffect, useState } from './lib.js';

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const units = [
  ['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400],
  ['hour', 3600], ['minute', 60], ['second', 1],
];

export function parseTime(value) {
  if (!value) return null;
  const d = new Date(value);
  return isNaN(d.getTime()) ? null : d;
}

export function formatAbsolute(value) {
  const d = parseTime(value);
  return d ? absolute.format(d) : '';
}

export function formatRelative(value, now = Date.now()) {
  const d = parseTime(value);
  if (!d) return '';
  const secs = Math.round((d.getTime() - now) / 1000);
  for (const [unit, size] of units) {
    if (Math.abs(secs) >= size || unit === 'second') {
      return relative.format(Math.round(secs / size), unit);
    }
  }
  return '';
}

const tickers = new Set();
setInterval(() => tickers.forEach((t) => t()), 30000);

// Time shows "3 minutes ago", with the local date and time as its tooltip.
export function Time({ value }) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = () => setTick((n) => n + 1);
    tickers.add(t);
    return () => tickers.delete(t);
  }, []);
  const d = parseTime(value);
  if (!d) return html`<span class="muted">never</span>`;
  return html`<time datetime=${d.toISOString()} title=${formatAbsolute(value)}>${formatRelative(value)}</time>`;
}
