// The applications list: sortable, filtered like the overview, with bulk
// sync and refresh of a selection.
import { html, useState } from '../lib.js';
import { useStore, key } from '../store.js';
import { post, appPath } from '../api.js';
import { setQuery } from '../router.js';
import { Link, SyncBadge, HealthBadge, Dialog, ErrorMessage, CommitLine, revisionCommit } from '../components.js';
import { Filters, Summary, readFilters, filterApps, parseSelector, labelsMatch } from '../filters.js';
import { Time } from '../time.js';
import { shortRev } from '../safe.js';
import { can } from '../session.js';

const columns = [
  ['name', 'Name', (a) => a.metadata.name],
  ['project', 'Project', (a) => a.spec?.project || 'default'],
  ['cluster', 'Cluster', (a) => a.spec?.destination?.cluster || ''],
  ['sync', 'Sync', (a) => a.status?.sync?.status || ''],
  ['health', 'Health', (a) => a.status?.health?.status || ''],
  ['revision', 'Revision', (a) => a.status?.sync?.revision || ''],
  ['lastSync', 'Last sync', (a) => a.status?.operation?.finishedAt || a.status?.operation?.startedAt || ''],
];

export function Applications({ query }) {
  const store = useStore();
  const filters = readFilters(query);
  const sortBy = query.get('sort') || 'name';
  const desc = query.get('desc') === '1';
  const [selected, setSelected] = useState(new Set());
  const [bulk, setBulk] = useState(null);
  const apps = [...store.applications.values()];
  const clusters = [...store.clusters.values()];
  const terms = parseSelector(filters.label);
  const clusterLabels = new Map(clusters.map((c) => [c.metadata.name, c.metadata.labels]));
  const visible = filterApps(apps, filters, (n) => !terms.length || labelsMatch(clusterLabels.get(n), terms));
  const col = columns.find((c) => c[0] === sortBy) || columns[0];
  visible.sort((x, y) => {
    const r = String(col[2](x)).localeCompare(String(col[2](y))) || key(x).localeCompare(key(y));
    return desc ? -r : r;
  });
  const chosen = visible.filter((a) => selected.has(key(a)));
  const toggle = (k) => {
    const s = new Set(selected);
    if (s.has(k)) s.delete(k);
    else s.add(k);
    setSelected(s);
  };
  const allOn = visible.length > 0 && chosen.length === visible.length;
  const writable = chosen.some((a) => can('applications:sync', a));
  return html`<section class="page">
    <h1>Applications</h1>
    <${Filters} filters=${filters} apps=${apps} fleets=${[...store.fleets.values()]} />
    <${Summary} apps=${visible} clusters=${clusters} />
    <div class="toolbar" role="toolbar" aria-label="Bulk actions">
      <span>${chosen.length} selected</span>
      ${writable ? html`<button type="button" onClick=${() => setBulk('sync')} disabled=${!chosen.length}>Sync selected</button>` : null}
      <button type="button" onClick=${() => setBulk('refresh')} disabled=${!chosen.length}>Refresh selected</button>
    </div>
    <table class="table apps">
      <thead><tr>
        <th scope="col"><input type="checkbox" aria-label="Select all shown" checked=${allOn}
          onChange=${() => setSelected(allOn ? new Set() : new Set(visible.map(key)))} /></th>
        ${columns.map(([id, title]) => html`<th key=${id} scope="col" aria-sort=${sortBy === id ? (desc ? 'descending' : 'ascending') : 'none'}>
          <button type="button" class="sort" onClick=${() => setQuery({ sort: id === 'name' ? '' : id, desc: sortBy === id && !desc ? '1' : '' })}>${title}${sortBy === id ? (desc ? ' ▼' : ' ▲') : ''}</button>
        </th>`)}
      </tr></thead>
      <tbody>${visible.map((a) => {
        const k = key(a);
        return html`<tr key=${k}>
          <td><input type="checkbox" aria-label=${'Select ' + a.metadata.name} checked=${selected.has(k)} onChange=${() => toggle(k)} /></td>
          <td><${Link} href=${`/applications/${encodeURIComponent(a.metadata.namespace)}/${encodeURIComponent(a.metadata.name)}`}>${a.metadata.name}<//>
            <div class="muted small">${a.metadata.namespace}</div></td>
          <td>${a.spec?.project || 'default'}</td>
          <td>${a.spec?.destination?.cluster}</td>
          <td><${SyncBadge} status=${a.status?.sync?.status} /></td>
          <td><${HealthBadge} status=${a.status?.health?.status} /></td>
          <td><span class="mono" title=${a.status?.sync?.revision || ''}>${shortRev(a.status?.sync?.revision)}</span>
            <${CommitLine} entry=${revisionCommit(a.status)} author=${false} />
            ${a.status?.operation?.message ? html`<div class="muted small message">${a.status.operation.message}</div>` : null}</td>
          <td><${Time} value=${a.status?.operation?.finishedAt || a.status?.operation?.startedAt} /></td>
        </tr>`;
      })}</tbody>
    </table>
    ${bulk ? html`<${BulkDialog} action=${bulk} apps=${chosen} onClose=${() => setBulk(null)} />` : null}
  </section>`;
}

function BulkDialog({ action, apps, onClose }) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState([]);
  const run = async () => {
    setBusy(true);
    const failed = [];
    await Promise.all(apps.map((a) => post(`${appPath(a.metadata.namespace, a.metadata.name)}/${action}`, {})
      .catch((err) => failed.push(`${a.metadata.name}: ${err.message}`))));
    setBusy(false);
    if (failed.length) setErrors(failed);
    else onClose();
  };
  const verb = action === 'sync' ? 'Sync' : 'Refresh';
  return html`<${Dialog} title=${`${verb} ${apps.length} applications`} onClose=${onClose}>
    <p>${action === 'sync'
      ? 'Each application below will apply what its source says now to its cluster, with its own prune policy.'
      : 'Each application below will fetch its source and compare it with its cluster now; nothing is applied.'}</p>
    <ul class="names">${apps.slice(0, 20).map((a) => html`<li key=${key(a)}>${a.metadata.name} → ${a.spec?.destination?.cluster}</li>`)}
      ${apps.length > 20 ? html`<li>and ${apps.length - 20} more</li>` : null}</ul>
    ${errors.map((e) => html`<p class="error" role="alert">${e}</p>`)}
    <div class="actions">
      <button type="button" onClick=${onClose}>Cancel</button>
      <button type="button" class="primary" onClick=${run} disabled=${busy}>${verb} ${apps.length}</button>
    </div>
  <//>`;
}
