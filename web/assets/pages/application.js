// One Application in depth: its source and destination, status and
// conditions, the resource tree, and the actions on it.
import { html, useEffect, useState } from '../lib.js';
import { get, post, del, appPath } from '../api.js';
import { useStore } from '../store.js';
import { navigate, setQuery } from '../router.js';
import { ExternalLink, SyncBadge, HealthBadge, Conditions, ErrorMessage, Labels, Link, CommitLine, revisionCommit } from '../components.js';
import { TreeGraph, nodeId } from '../tree.js';
import { NodePanel } from '../panel.js';
import { Time } from '../time.js';
import { shortRev } from '../safe.js';
import { can } from '../session.js';
import { SyncDialog, RollbackDialog, DeleteDialog } from './actions.js';

export function Application({ ns, name, query }) {
  const store = useStore();
  const [fetched, setFetched] = useState(null);
  const [error, setError] = useState(null);
  const [tree, setTree] = useState(null);
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const app = store.applications.get(`${ns}/${name}`) || fetched;
  const base = appPath(ns, name);
  useEffect(() => {
    if (store.applications.has(`${ns}/${name}`)) return;
    get(base).then(setFetched, setError);
  }, [base]);
  // The tree follows the Application: a change of its status reloads it.
  const stamp = app ? `${app.metadata.resourceVersion}` : '';
  useEffect(() => {
    if (!app) return undefined;
    const t = setTimeout(() => get(`${base}/tree`).then(setTree, setError), tree ? 300 : 0);
    return () => clearTimeout(t);
  }, [stamp]);
  if (error && !app) return html`<section class="page"><h1>${name}</h1><${ErrorMessage} error=${error} /></section>`;
  if (!app) return html`<section class="page"><h1>${name}</h1><p class="muted">Loading…</p></section>`;
  const nodes = tree?.nodes || [];
  const kinds = [...new Set(nodes.map((n) => n.kind))].sort();
  const shown = new Set((query.get('kinds') || '').split(',').filter(Boolean));
  const selectedId = query.get('node') || '';
  const selected = nodes.find((n) => nodeId(n) === selectedId);
  const toggleKind = (k) => {
    const s = new Set(shown);
    if (s.has(k)) s.delete(k);
    else s.add(k);
    setQuery({ kinds: [...s].join(',') });
  };
  const refresh = () => post(`${base}/refresh`).then(() => setNotice('Refresh requested.'), setError);
  return html`<section class="page application">
    <nav aria-label="Breadcrumb" class="crumbs"><${Link} href="/applications">Applications<//> / ${ns} / ${name}</nav>
    <div class="app-head">
      <h1>${name}</h1>
      <div class="actions" role="toolbar" aria-label="Application actions">
        ${can('applications:sync', app) ? html`<button type="button" class="primary" onClick=${() => setDialog('sync')}>Sync</button>` : null}
        <button type="button" onClick=${refresh}>Refresh</button>
        ${can('applications:rollback', app) ? html`<button type="button" onClick=${() => setDialog('rollback')}>History and rollback</button>` : null}
        ${can('applications:delete', app) ? html`<button type="button" class="danger" onClick=${() => setDialog('delete')}>Delete</button>` : null}
      </div>
    </div>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <${ErrorMessage} error=${error} />
    <${Header} app=${app} />
    <h2>Resources</h2>
    <div class="kindfilter" role="group" aria-label="Show kinds">
      ${kinds.map((k) => html`<button key=${k} type="button" class="chip" aria-pressed=${shown.has(k)} onClick=${() => toggleKind(k)}>${k} (${nodes.filter((n) => n.kind === k).length})</button>`)}
      ${shown.size ? html`<button type="button" class="link" onClick=${() => setQuery({ kinds: '' })}>Show all</button>` : null}
    </div>
    <div class=${'tree-and-panel' + (selected ? ' with-panel' : '')}>
      ${tree ? html`<${TreeGraph} app=${app} nodes=${nodes} shownKinds=${shown} selected=${selectedId}
        onSelect=${(id) => setQuery({ node: id, tab: '' })} />` : html`<p class="muted">Loading the resource tree…</p>`}
      ${selected ? html`<${NodePanel} app=${app} node=${selected} tab=${query.get('tab')} />` : null}
    </div>
    ${dialog === 'sync' ? html`<${SyncDialog} app=${app} onClose=${() => setDialog(null)} onDone=${setNotice} />` : null}
    ${dialog === 'rollback' ? html`<${RollbackDialog} app=${app} onClose=${() => setDialog(null)} onDone=${setNotice} />` : null}
    ${dialog === 'delete' ? html`<${DeleteDialog} app=${app} onClose=${() => setDialog(null)}
      onDone=${() => navigate('/applications')} />` : null}
  </section>`;
}

function Header({ app }) {
  const sp = app.spec || {};
  const st = app.status || {};
  const src = sp.source || {};
  const op = st.operation;
  return html`<div class="app-header">
    <dl class="facts">
      <div><dt>Repository</dt><dd><${ExternalLink} url=${src.repoURL} /></dd></div>
      ${src.chart ? html`<div><dt>Chart</dt><dd>${src.chart}</dd></div>` : null}
      <div><dt>Path</dt><dd class="mono">${src.path || '/'}</dd></div>
      <div><dt>Target revision</dt><dd class="mono">${src.targetRevision || 'default branch'}</dd></div>
      <div><dt>Revision</dt><dd><span class="mono" title=${st.sync?.revision || ''}>${shortRev(st.sync?.revision) || 'none yet'}</span>
        ${st.pin ? html` <span class="tag">pinned by rollback to #${st.pin.historyID}</span>` : null}
        <${CommitLine} entry=${revisionCommit(st)} /></dd></div>
      <div><dt>Destination</dt><dd>${sp.destination?.cluster} / ${sp.destination?.namespace || '(namespaces of the manifests)'}</dd></div>
      <div><dt>Project</dt><dd>${sp.project || 'default'}</dd></div>
      <div><dt>Sync</dt><dd><${SyncBadge} status=${st.sync?.status} />
        ${sp.syncPolicy?.automated ? html` <span class="tag">auto-sync${sp.syncPolicy.automated.prune ? ', prune' : ''}${sp.syncPolicy.automated.selfHeal ? ', self-heal' : ''}</span>` : null}</dd></div>
      <div><dt>Health</dt><dd><${HealthBadge} status=${st.health?.status} /> ${st.health?.message ? html`<span class="message">${st.health.message}</span>` : null}</dd></div>
      ${op ? html`<div><dt>Last operation</dt><dd>${op.phase} <${Time} value=${op.finishedAt || op.startedAt} />
        ${op.message ? html`<div class="message">${op.message}</div>` : null}</dd></div>` : null}
      <div><dt>Labels</dt><dd><${Labels} labels=${app.metadata.labels} /></dd></div>
      <div><dt>Annotations</dt><dd><${Labels} labels=${app.metadata.annotations} /></dd></div>
    </dl>
    <${Conditions} conditions=${st.conditions} />
  </div>`;
}
