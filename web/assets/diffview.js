// Diffs, unified or side by side, each line a text node with a class.
import { html } from './lib.js';

export function UnifiedDiff({ text }) {
  if (!text) return html`<p class="muted">No difference.</p>`;
  const lines = text.split('\n');
  return html`<pre class="diff" aria-label="Unified diff">${lines.map((l, i) => {
    let c = 'ctx';
    if (l.startsWith('+++') || l.startsWith('---')) c = 'file';
    else if (l.startsWith('@@')) c = 'hunk';
    else if (l.startsWith('+')) c = 'add';
    else if (l.startsWith('-')) c = 'del';
    return html`<span key=${i} class=${'line ' + c}>${l}\n</span>`;
  })}</pre>`;
}

export function SideBySide({ live, desired }) {
  return html`<div class="sidebyside">
    <figure><figcaption>Live</figcaption><pre class="code">${live || '(none)'}</pre></figure>
    <figure><figcaption>Desired (from the source)</figcaption><pre class="code">${desired || '(none)'}</pre></figure>
  </div>`;
}
