// The resource tree as a graph: the Application, the objects it manages,
// and their children (ReplicaSets, Pods …), laid out left to right.
import { html } from './lib.js';
import { KindIcon, HealthBadge, SyncBadge } from './components.js';

const W = 240, H = 58, GX = 56, GY = 12;

export const nodeId = (n) => [n.group || '', n.kind, n.namespace || '', n.name].join('/');

function refKey(r) {
  return r.uid || [r.group || '', r.kind, r.namespace || '', r.name].join('/');
}

// layout places each shown node: depth gives the column, a walk of the
// tree gives the rows, and a parent sits beside the middle of its children.
export function layout(nodes, shownKinds) {
  const byKey = new Map();
  for (const n of nodes) {
    byKey.set(refKey(n), n);
    byKey.set([n.group || '', n.kind, n.namespace || '', n.name].join('/'), n);
  }
  const shown = (n) => !shownKinds.size || shownKinds.has(n.kind);
  const parentOf = (n) => {
    const seen = new Set();
    let cur = n;
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      const p = (cur.parents || []).map((r) => byKey.get(refKey(r)) || byKey.get([r.group || '', r.kind, r.namespace || '', r.name].join('/'))).find(Boolean);
      if (!p) return null;
      if (shown(p)) return p;
      cur = p;
    }
    return null;
  };
  const root = { id: 'root', children: [] };
  const items = new Map();
  for (const n of nodes) if (shown(n)) items.set(n, { node: n, id: nodeId(n), children: [] });
  for (const [n, item] of items) {
    const p = parentOf(n);
    (p && items.get(p) ? items.get(p).children : root.children).push(item);
  }
  const order = (a, b) => a.node.kind.localeCompare(b.node.kind) || a.node.name.localeCompare(b.node.name);
  let row = 0;
  const place = (item, depth) => {
    item.children.sort(order);
    item.x = depth * (W + GX);
    if (!item.children.length) {
      item.y = row++ * (H + GY);
    } else {
      item.children.forEach((c) => place(c, depth + 1));
      item.y = (item.children[0].y + item.children[item.children.length - 1].y) / 2;
    }
  };
  place(root, 0);
  if (!root.children.length) root.y = 0;
  const all = [root];
  const edges = [];
  const walk = (item) => item.children.forEach((c) => {
    all.push(c);
    edges.push([item, c]);
    walk(c);
  });
  walk(root);
  const width = Math.max(...all.map((i) => i.x)) + W + 2;
  const height = Math.max(row, 1) * (H + GY);
  return { root, items: all.slice(1), edges, width, height };
}

export function TreeGraph({ app, nodes, shownKinds, selected, onSelect }) {
  const g = layout(nodes, shownKinds);
  const edge = ([a, b]) => {
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    return `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
  };
  const st = app.status || {};
  return html`<div class="graph-scroll">
    <div class="graph" style=${{ width: g.width + 'px', height: g.height + 'px' }}>
      <svg class="edges" width=${g.width} height=${g.height} aria-hidden="true">
        ${g.edges.map((e, i) => html`<path key=${i} d=${edge(e)} />`)}
      </svg>
      <div class="node root" style=${{ left: '0px', top: g.root.y + 'px' }}>
        <div class="node-title"><${KindIcon} kind="Application" /> <span class="name">${app.metadata.name}</span></div>
        <div class="node-status"><${SyncBadge} status=${st.sync?.status} /> <${HealthBadge} status=${st.health?.status} /></div>
      </div>
      <ul class="nodes" aria-label="Resources">${g.items.map((it) => {
        const n = it.node;
        const label = `${n.kind} ${n.namespace ? n.namespace + '/' : ''}${n.name}`;
        return html`<li key=${it.id} style=${{ left: it.x + 'px', top: it.y + 'px' }} class="node-slot">
          <button type="button" class=${'node' + (selected === it.id ? ' selected' : '') + (n.managed ? ' managed' : '')}
            aria-pressed=${selected === it.id} aria-label=${label} title=${label} onClick=${() => onSelect(it.id)}>
            <span class="node-title"><${KindIcon} kind=${n.kind} /> <span class="name">${n.name}</span></span>
            <span class="node-status">${n.health ? html`<${HealthBadge} status=${n.health.status} />` : null}
              ${n.sync ? html`<${SyncBadge} status=${n.sync} />` : null}</span>
          </button>
        </li>`;
      })}</ul>
    </div>
  </div>`;
}
