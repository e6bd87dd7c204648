// The clusters of the fleet: connection, version, heartbeat, applications.
import { html } from '../lib.js';
import { useStore } from '../store.js';
import { Labels, Link } from '../components.js';
import { Time } from '../time.js';
import { setQuery } from '../router.js';

export function Clusters({ query }) {
  const store = useStore();
  const q = (query.get('q') || '').toLowerCase();
  const clusters = [...store.clusters.values()]
    .filter((c) => !q || c.metadata.name.toLowerCase().includes(q))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return html`<section class="page">
    <h1>Clusters</h1>
    <form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label>Name <input type="search" value=${query.get('q') || ''} onInput=${(e) => setQuery({ q: e.currentTarget.value })} /></label>
    </form>
    <table class="table">
      <thead><tr><th scope="col">Name</th><th scope="col">Connection</th><th scope="col">Version</th><th scope="col">Last heartbeat</th>
        <th scope="col">Applications</th><th scope="col">Mode</th><th scope="col">Labels</th></tr></thead>
      <tbody>${clusters.map((c) => {
        const s = c.status || {};
        return html`<tr key=${c.metadata.namespace + '/' + c.metadata.name}>
          <td><${Link} href=${'/applications?cluster=' + encodeURIComponent(c.metadata.name)}>${c.metadata.name}<//></td>
          <td>${s.connected ? html`<span class="badge health-Healthy"><span aria-hidden="true">●</span> Connected</span>`
            : html`<span class="badge health-Degraded"><span aria-hidden="true">○</span> Disconnected</span>`}</td>
          <td class="mono">${s.kubernetesVersion || ''}</td>
          <td><${Time} value=${s.lastHeartbeat} /></td>
          <td>${s.applications || 0}</td>
          <td>${c.spec?.mode || 'push'}</td>
          <td><${Labels} labels=${c.metadata.labels} /></td>
        </tr>`;
      })}</tbody>
    </table>
  </section>`;
}
