// Fleets: the rollout of one template over many clusters.
import { html } from '../lib.js';
import { useStore, FLEET_LABEL } from '../store.js';
import { Link, SyncBadge, HealthBadge, Conditions, cellState } from '../components.js';
import { shortRev } from '../safe.js';

function Progress({ value, max, label }) {
  return html`<span class="progress"><progress value=${value} max=${Math.max(max, 1)} aria-label=${label}></progress> ${value}/${max}</span>`;
}

export function Fleets() {
  const store = useStore();
  const fleets = [...store.fleets.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return html`<section class="page">
    <h1>Fleets</h1>
    ${!fleets.length ? html`<p class="empty-state">No fleets.</p>` : html`<table class="table">
      <thead><tr><th scope="col">Name</th><th scope="col">Project</th><th scope="col">Revision</th><th scope="col">Clusters</th>
        <th scope="col">Synced</th><th scope="col">Healthy</th></tr></thead>
      <tbody>${fleets.map((f) => {
        const s = f.status?.summary || {};
        return html`<tr key=${f.metadata.namespace + '/' + f.metadata.name}>
          <td><${Link} href=${`/fleets/${encodeURIComponent(f.metadata.namespace)}/${encodeURIComponent(f.metadata.name)}`}>${f.metadata.name}<//></td>
          <td>${f.spec?.project || 'default'}</td>
          <td class="mono">${shortRev(f.status?.revision) || 'mixed'}</td>
          <td>${s.clusters || 0}</td>
          <td><${Progress} value=${s.synced || 0} max=${s.clusters || 0} label="Synced" /></td>
          <td><${Progress} value=${s.healthy || 0} max=${s.clusters || 0} label="Healthy" /></td>
        </tr>`;
      })}</tbody></table>`}
  </section>`;
}

export function Fleet({ ns, name }) {
  const store = useStore();
  const f = store.fleets.get(`${ns}/${name}`);
  const apps = [...store.applications.values()]
    .filter((a) => a.metadata.namespace === ns && a.metadata.labels?.[FLEET_LABEL] === name)
    .sort((a, b) => (a.spec?.destination?.cluster || '').localeCompare(b.spec?.destination?.cluster || ''));
  if (!f) return html`<section class="page"><h1>${name}</h1><p class="muted">${store.loaded ? 'No such fleet.' : 'Loading…'}</p></section>`;
  const s = f.status?.summary || {};
  const target = f.status?.revision;
  const moved = apps.filter((a) => target && a.status?.sync?.revision === target).length;
  return html`<section class="page">
    <nav aria-label="Breadcrumb" class="crumbs"><${Link} href="/fleets">Fleets<//> / ${ns} / ${name}</nav>
    <h1>${name}</h1>
    <p class="summary"><span>Revision <strong class="mono">${shortRev(target) || 'mixed'}</strong></span>
      <span>Rollout <${Progress} value=${moved} max=${apps.length} label="Clusters on the fleet's revision" /></span>
      <span>Synced <${Progress} value=${s.synced || 0} max=${s.clusters || 0} label="Synced" /></span>
      <span>Healthy <${Progress} value=${s.healthy || 0} max=${s.clusters || 0} label="Healthy" /></span>
      ${f.spec?.rollout?.paused ? html`<span class="tag">paused</span>` : null}</p>
    <${Conditions} conditions=${f.status?.conditions} />
    <table class="table">
      <thead><tr><th scope="col">Cluster</th><th scope="col">Application</th><th scope="col">Revision</th><th scope="col">Sync</th><th scope="col">Health</th></tr></thead>
      <tbody>${apps.map((a) => html`<tr key=${a.metadata.name} class=${'row-' + cellState(a)}>
        <td>${a.spec?.destination?.cluster}</td>
        <td><${Link} href=${`/applications/${encodeURIComponent(ns)}/${encodeURIComponent(a.metadata.name)}`}>${a.metadata.name}<//></td>
        <td class="mono">${shortRev(a.status?.sync?.revision)}</td>
        <td><${SyncBadge} status=${a.status?.sync?.status} /></td>
        <td><${HealthBadge} status=${a.status?.health?.status} /></td>
      </tr>`)}</tbody></table>
  </section>`;
}
