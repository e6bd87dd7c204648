// The filters shared by the overview and the applications list. They live
// in the URL's query, so a filtered view is a link.
import { html } from './lib.js';
import { setQuery } from './router.js';
import { cellState } from './components.js';
import { FLEET_LABEL } from './store.js';

export const statuses = [
  ['', 'Any status'], ['Synced', 'Synced'], ['OutOfSync', 'Out of sync'], ['Healthy', 'Healthy'],
  ['Progressing', 'Progressing'], ['Degraded', 'Degraded'], ['Missing', 'Missing'], ['Unknown', 'Unknown'],
];

export function readFilters(query) {
  return {
    project: query.get('project') || '',
    label: query.get('label') || '',
    fleet: query.get('fleet') || '',
    status: query.get('status') || '',
    q: query.get('q') || '',
    cluster: query.get('cluster') || '',
  };
}

// parseSelector reads "env=prod, region!=eu, canary" into terms.
export function parseSelector(text) {
  return text.split(',').map((t) => t.trim()).filter(Boolean).map((t) => {
    const ne = t.indexOf('!=');
    if (ne > 0) return { key: t.slice(0, ne).trim(), op: '!=', value: t.slice(ne + 2).trim() };
    const eq = t.indexOf('=');
    if (eq > 0) return { key: t.slice(0, eq).trim(), op: '=', value: t.slice(eq + 1).replace(/^=/, '').trim() };
    return { key: t, op: 'exists' };
  });
}

export function labelsMatch(labels, terms) {
  const l = labels || {};
  return terms.every((t) => {
    if (t.op === 'exists') return Object.prototype.hasOwnProperty.call(l, t.key);
    if (t.op === '=') return l[t.key] === t.value;
    return l[t.key] !== t.value;
  });
}

export function statusMatches(app, status) {
  if (!status) return true;
  const s = app.status || {};
  return s.sync?.status === status || s.health?.status === status ||
    (status === 'Unknown' && cellState(app) === 'unknown');
}

// filterApps applies every filter but the cluster label (which filters
// clusters; see clusterVisible) to the Applications.
export function filterApps(apps, f, visibleCluster) {
  const q = f.q.toLowerCase();
  return apps.filter((a) =>
    (!f.project || (a.spec?.project || 'default') === f.project) &&
    (!f.cluster || a.spec?.destination?.cluster === f.cluster) &&
    (!f.fleet || a.metadata?.labels?.[FLEET_LABEL] === f.fleet) &&
    (!q || (a.metadata?.name || '').toLowerCase().includes(q)) &&
    statusMatches(a, f.status) &&
    (!visibleCluster || visibleCluster(a.spec?.destination?.cluster || '')));
}

function uniq(values) {
  return [...new Set(values.filter(Boolean))].sort();
}

export function Filters({ filters, apps, fleets }) {
  const projects = uniq(apps.map((a) => a.spec?.project || 'default'));
  const fleetNames = uniq([...fleets.map((f) => f.metadata?.name), ...apps.map((a) => a.metadata?.labels?.[FLEET_LABEL])]);
  const clusterNames = uniq(apps.map((a) => a.spec?.destination?.cluster));
  const on = (name) => (ev) => setQuery({ [name]: ev.currentTarget.value });
  return html`<form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
    <label>Name <input type="search" name="q" value=${filters.q} onInput=${on('q')} placeholder="search" /></label>
    <label>Project <select name="project" value=${filters.project} onChange=${on('project')}>
      <option value="">All projects</option>
      ${projects.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
    </select></label>
    <label>Fleet <select name="fleet" value=${filters.fleet} onChange=${on('fleet')}>
      <option value="">All fleets</option>
      ${fleetNames.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
    </select></label>
    <label>Cluster <select name="cluster" value=${filters.cluster} onChange=${on('cluster')}>
      <option value="">All clusters</option>
      ${clusterNames.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
    </select></label>
    <label>Status <select name="status" value=${filters.status} onChange=${on('status')}>
      ${statuses.map(([v, t]) => html`<option key=${v} value=${v}>${t}</option>`)}
    </select></label>
    <label>Cluster labels <input type="text" name="label" value=${filters.label} onInput=${on('label')} placeholder="env=prod,region" /></label>
  </form>`;
}

// Summary is the line of counts above the overview and the list.
export function Summary({ apps, clusters }) {
  const connected = clusters.filter((c) => c.status?.connected).length;
  let synced = 0, outOfSync = 0, degraded = 0, progressing = 0;
  for (const a of apps) {
    const s = a.status || {};
    if (s.sync?.status === 'Synced') synced++;
    if (s.sync?.status === 'OutOfSync') outOfSync++;
    if (s.health?.status === 'Degraded') degraded++;
    if (s.health?.status === 'Progressing') progressing++;
  }
  return html`<p class="summary" aria-live="polite">
    <span><strong>${connected}</strong> of ${clusters.length} clusters connected</span>
    <span><strong>${apps.length}</strong> applications</span>
    <span class="s-healthy"><strong>${synced}</strong> synced</span>
    <span class="s-outofsync"><strong>${outOfSync}</strong> out of sync</span>
    <span class="s-degraded"><strong>${degraded}</strong> degraded</span>
    <span class="s-progressing"><strong>${progressing}</strong> progressing</span>
  </p>`;
}
