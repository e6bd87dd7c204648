// The panel of one node of the tree: its live manifest, its diff against
// the source, its events, and for Pods their logs.
import { html, useEffect, useRef, useState } from './lib.js';
import { get, request, appPath } from './api.js';
import { setQuery } from './router.js';
import { ErrorMessage, HealthBadge, SyncBadge, KindIcon } from './components.js';
import { UnifiedDiff, SideBySide } from './diffview.js';
import { Time } from './time.js';
import { toYAML } from './yaml.js';
import { can } from './session.js';

const MAX_LOG = 1 << 20; // the UI keeps the last MiB of a log

function refQuery(n, withVersion = true) {
  const q = new URLSearchParams({ group: n.group || '', kind: n.kind, namespace: n.namespace || '', name: n.name });
  if (withVersion && n.version) q.set('version', n.version);
  return q.toString();
}

function useFetch(fn, deps) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let live = true;
    setState({ loading: true });
    fn().then((data) => live && setState({ data }), (error) => live && setState({ error }));
    return () => { live = false; };
  }, deps);
  return state;
}

export function NodePanel({ app, node, tab }) {
  const tabs = ['manifest', 'diff', 'events'];
  if (node.kind === 'Pod' && !node.group && can('logs:get', app)) tabs.push('logs');
  const current = tabs.includes(tab) ? tab : 'manifest';
  const base = appPath(app.metadata.namespace, app.metadata.name);
  return html`<aside class="panel" aria-label=${`${node.kind} ${node.name}`}>
    <header class="panel-head">
      <h2><${KindIcon} kind=${node.kind} /> ${node.name}</h2>
      <p class="muted">${node.kind}${node.namespace ? ' in ' + node.namespace : ''}</p>
      <p>${node.health ? html`<${HealthBadge} status=${node.health.status} />` : null} ${node.sync ? html`<${SyncBadge} status=${node.sync} />` : null}</p>
      ${node.health?.message ? html`<p class="message">${node.health.message}</p>` : null}
      <button type="button" class="close" aria-label="Close panel" onClick=${() => setQuery({ node: '', tab: '' })}>×</button>
    </header>
    <div role="tablist" class="tabs">${tabs.map((t) => html`<button key=${t} type="button" role="tab" aria-selected=${t === current}
      onClick=${() => setQuery({ tab: t === 'manifest' ? '' : t })}>${t[0].toUpperCase() + t.slice(1)}</button>`)}</div>
    <div role="tabpanel" class="tabpanel">
      ${current === 'manifest' ? html`<${Manifest} base=${base} node=${node} />` : null}
      ${current === 'diff' ? html`<${NodeDiff} base=${base} node=${node} />` : null}
      ${current === 'events' ? html`<${Events} base=${base} node=${node} />` : null}
      ${current === 'logs' ? html`<${Logs} base=${base} node=${node} />` : null}
    </div>
  </aside>`;
}

function Manifest({ base, node }) {
  const s = useFetch(() => get(`${base}/resource?${refQuery(node)}`), [base, refQuery(node)]);
  if (s.loading) return html`<p class="muted">Loading…</p>`;
  if (s.error) return html`<${ErrorMessage} error=${s.error} />`;
  return html`<pre class="code" aria-label="Live manifest">${toYAML(s.data)}</pre>`;
}

function sameObject(d, n) {
  return (d.group || '') === (n.group || '') && d.kind === n.kind && (d.namespace || '') === (n.namespace || '') && d.name === n.name;
}

function NodeDiff({ base, node }) {
  const [mode, setMode] = useState('unified');
  const s = useFetch(() => get(`${base}/diff`), [base]);
  if (s.loading) return html`<p class="muted">Computing the diff…</p>`;
  if (s.error) return html`<${ErrorMessage} error=${s.error} />`;
  const d = (s.data.resources || []).find((r) => sameObject(r, node));
  if (!d) return html`<p class="muted">This object is not rendered from the source (a child of a managed object), so it has no diff.</p>`;
  return html`<div>
    <p>Action on sync: <strong>${d.action}</strong> at revision <span class="mono">${s.data.revision}</span></p>
    <div class="segmented" role="group" aria-label="Diff layout">
      <button type="button" aria-pressed=${mode === 'unified'} onClick=${() => setMode('unified')}>Unified</button>
      <button type="button" aria-pressed=${mode === 'split'} onClick=${() => setMode('split')}>Side by side</button>
    </div>
    ${mode === 'unified' ? html`<${UnifiedDiff} text=${d.diff} />` : html`<${SideBySide} live=${d.live} desired=${d.desired} />`}
  </div>`;
}

export function EventsTable({ events }) {
  if (!events.length) return html`<p class="muted">No events.</p>`;
  return html`<table class="table events"><thead><tr><th scope="col">Type</th><th scope="col">Reason</th><th scope="col">Object</th><th scope="col">Message</th><th scope="col">Count</th><th scope="col">Last seen</th></tr></thead>
    <tbody>${events.map((e, i) => html`<tr key=${i} class=${e.type === 'Warning' ? 'warning' : ''}>
      <td>${e.type}</td><td>${e.reason}</td><td>${e.object?.kind}/${e.object?.name}</td><td class="message">${e.message}</td><td>${e.count || 1}</td><td><${Time} value=${e.lastSeen || e.firstSeen} /></td>
    </tr>`)}</tbody></table>`;
}

function Events({ base, node }) {
  const s = useFetch(() => get(`${base}/events?${refQuery(node, false)}`), [base, refQuery(node, false)]);
  if (s.loading) return html`<p class="muted">Loading…</p>`;
  if (s.error) return html`<${ErrorMessage} error=${s.error} />`;
  return html`<${EventsTable} events=${Array.isArray(s.data) ? s.data : s.data?.items || []} />`;
}

function Logs({ base, node }) {
  const pod = useFetch(() => get(`${base}/resource?${refQuery(node)}`), [base, node.name]);
  const containers = (pod.data?.spec?.containers || []).map((c) => c.name);
  const [container, setContainer] = useState('');
  const [tail, setTail] = useState(200);
  const [follow, setFollow] = useState(false);
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const pre = useRef(null);
  const chosen = container || containers[0] || '';
  useEffect(() => {
    if (!pod.data) return undefined;
    const ctl = new AbortController();
    setText('');
    setError(null);
    const q = new URLSearchParams({ namespace: node.namespace || '', pod: node.name, tailLines: String(tail), follow: String(follow) });
    if (chosen) q.set('container', chosen);
    (async () => {
      const res = await request('GET', `${base}/logs?${q}`, undefined, { raw: true, signal: ctl.signal });
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf = (buf + dec.decode(value, { stream: true })).slice(-MAX_LOG);
        setText(buf);
      }
    })().catch((err) => err.name !== 'AbortError' && setError(err));
    return () => ctl.abort();
  }, [pod.data, chosen, tail, follow]);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text]);
  return html`<div class="logs">
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Container <select value=${chosen} onChange=${(e) => setContainer(e.currentTarget.value)}>
        ${containers.map((c) => html`<option key=${c} value=${c}>${c}</option>`)}</select></label>
      <label>Tail lines <input type="number" min="1" max="10000" value=${tail} onChange=${(e) => setTail(Math.max(1, Math.min(10000, Number(e.currentTarget.value) || 200)))} /></label>
      <label class="check"><input type="checkbox" checked=${follow} onChange=${(e) => setFollow(e.currentTarget.checked)} /> Follow</label>
    </form>
    <${ErrorMessage} error=${error || pod.error} />
    <pre class="code log" ref=${pre} aria-label="Log" aria-live=${follow ? 'polite' : 'off'}>${text}</pre>
  </div>`;
}
