// The fleet at a glance: rows of Applications (grouped by Fleet) × columns
// of clusters. Only the rows in view are in the page, so thousands of rows
// scroll smoothly.
import { html, Component, useEffect, useMemo, useRef, useState } from '../lib.js';
import { useStore, FLEET_LABEL } from '../store.js';
import { Link, cellState } from '../components.js';
import { Filters, Summary, readFilters, filterApps, parseSelector, labelsMatch } from '../filters.js';
import { shortRev } from '../safe.js';

const ROW = 34;
const OVERSCAN = 8;

// buildMatrix groups the Applications into rows: one per Fleet (its
// generated Applications, one per cluster) and one per other Application
// name.
export function buildMatrix(apps, clusterNames) {
  const rows = new Map();
  for (const a of apps) {
    const fleet = a.metadata?.labels?.[FLEET_LABEL];
    const ns = a.metadata?.namespace || '';
    const id = fleet ? `fleet:${ns}/${fleet}` : `app:${ns}/${a.metadata?.name}`;
    let row = rows.get(id);
    if (!row) {
      row = { id, name: fleet || a.metadata?.name, namespace: ns, fleet: !!fleet, cells: new Map() };
      rows.set(id, row);
    }
    row.cells.set(a.spec?.destination?.cluster || '', a);
  }
  const cols = new Set(clusterNames);
  for (const a of apps) cols.add(a.spec?.destination?.cluster || '');
  return {
    rows: [...rows.values()].sort((x, y) => x.name.localeCompare(y.name) || x.namespace.localeCompare(y.namespace)),
    columns: [...cols].filter((c) => c !== '').sort(),
  };
}

function Cell({ app, cluster }) {
  if (!app) return html`<span class="cell empty" role="cell" aria-label=${'not deployed to ' + cluster}></span>`;
  const st = cellState(app);
  const s = app.status || {};
  const sync = s.sync?.status || 'Unknown';
  const health = s.health?.status || 'Unknown';
  const name = app.metadata.name;
  const label = `${name} on ${cluster}: ${sync}, ${health}${s.sync?.revision ? ', revision ' + shortRev(s.sync.revision) : ''}`;
  return html`<${Link} class=${'cell st-' + st} role="cell" href=${`/applications/${encodeURIComponent(app.metadata.namespace)}/${encodeURIComponent(name)}`}
    title=${label} aria-label=${label}>${shortRev(s.sync?.revision) || sync}<//>`;
}

export function Overview({ query }) {
  const store = useStore();
  const filters = readFilters(query);
  const apps = [...store.applications.values()];
  const clusters = [...store.clusters.values()];
  const fleets = [...store.fleets.values()];
  const terms = parseSelector(filters.label);
  const clusterLabels = new Map(clusters.map((c) => [c.metadata.name, c.metadata.labels]));
  const clusterVisible = (name) => !terms.length || labelsMatch(clusterLabels.get(name), terms);
  const visibleApps = filterApps(apps, filters, clusterVisible);
  const matrix = useMemo(
    () => buildMatrix(visibleApps, clusters.map((c) => c.metadata.name).filter(clusterVisible)),
    [store.version, query.toString()],
  );
  return html`<section class="page overview">
    <h1>Fleet overview</h1>
    <${Filters} filters=${filters} apps=${apps} fleets=${fleets} />
    <${Summary} apps=${visibleApps} clusters=${clusters.filter((c) => clusterVisible(c.metadata.name))} />
    ${!store.loaded ? html`<p class="muted">Loading…</p>` :
      matrix.rows.length === 0 ? html`<p class="empty-state">No applications match.</p>` :
      html`<${Matrix} matrix=${matrix} />`}
    <${Legend} />
  </section>`;
}

function Legend() {
  const items = [['healthy', 'Synced and healthy'], ['outofsync', 'Out of sync'], ['progressing', 'Progressing'],
    ['degraded', 'Degraded or failed'], ['missing', 'Missing'], ['suspended', 'Suspended'], ['unknown', 'Unknown']];
  return html`<ul class="legend" aria-label="Legend">${items.map(([k, t]) => html`<li key=${k}><span class=${'swatch st-' + k} aria-hidden="true"></span>${t}</li>`)}</ul>`;
}

// Row renders again only when its Applications or the columns change, not
// on every scroll frame.
class Row extends Component {
  shouldComponentUpdate(next) {
    return next.row !== this.props.row || next.columns !== this.props.columns || next.index !== this.props.index;
  }

  render({ row: r, columns, index }) {
    return html`<div class="matrix-row" role="row" aria-rowindex=${index}>
      <span class="rowhead" role="rowheader" title=${r.namespace + '/' + r.name}>
        ${r.fleet ? html`<${Link} href=${`/fleets/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`}><span class="tag">fleet</span> ${r.name}<//>` : r.name}
      </span>
      ${columns.map((c) => html`<${Cell} key=${c} app=${r.cells.get(c)} cluster=${c} />`)}
    </div>`;
  }
}

function Matrix({ matrix }) {
  const ref = useRef(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  useEffect(() => {
    const el = ref.current;
    let frame = 0;
    const measure = () => {
      frame = 0;
      setView((v) => (v.top === el.scrollTop && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight }));
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    // The first frame with the matrix, for the render benchmark (test/bench).
    if (!performance.getEntriesByName('flotilla:first-matrix').length) performance.mark('flotilla:first-matrix');
    el.addEventListener('scroll', onScroll, { passive: true });
    addEventListener('resize', onScroll);
    return () => {
      el.removeEventListener('scroll', onScroll);
      removeEventListener('resize', onScroll);
      cancelAnimationFrame(frame);
    };
  }, []);
  const { rows, columns } = matrix;
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  const width = 260 + columns.length * 84;
  return html`<div class="matrix" ref=${ref} role="table" aria-label="Applications by cluster" aria-rowcount=${rows.length + 1} tabindex="0">
    <div class="matrix-head" role="row" style=${{ width: width + 'px' }}>
      <span class="rowhead" role="columnheader">Application / Fleet</span>
      ${columns.map((c) => html`<span key=${c} class="colhead" role="columnheader" title=${c}>${c}</span>`)}
    </div>
    <div class="matrix-body" style=${{ height: rows.length * ROW + 'px', width: width + 'px' }}>
      <div class="matrix-window" style=${{ transform: `translateY(${first * ROW}px)` }}>
        ${rows.slice(first, last).map((r, i) => html`<${Row} key=${r.id} row=${r} columns=${columns} index=${first + i + 2} />`)}
      </div>
    </div>
  </div>`;
}
