// The fleet at a glance: rows of Applications (grouped by Fleet) × columns
// of clusters. Only the rows and columns in view are in the page, so
// thousands of rows over many clusters scroll smoothly.
import { html, useEffect, useLayoutEffect, useMemo, useRef, useState } from '../lib.js';
import { useStore, FLEET_LABEL } from '../store.js';
import { cellState } from '../components.js';
import { onLinkClick } from '../router.js';
import { Filters, Summary, readFilters, filterApps, parseSelector, labelsMatch } from '../filters.js';
import { shortRev } from '../safe.js';

const ROW = 34; // px, a row's height
const OVERSCAN = 8; // rows beyond the view, each way
const COL = 84; // px, a cluster column's width
const HEAD = 260; // px, the row headers' width
const COL_OVERSCAN = 2; // columns beyond the view, each way

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

// fillCell makes el show one Application on one cluster: a plain link
// (the matrix routes clicks on its links with one handler), or, where the
// Application is not deployed, an element that is no link. col is the
// cluster's aria-colindex: its place among all the columns, not only those
// rendered. A cell that already shows the same Application object is left
// as it is.
function fillCell(el, app, cluster, col) {
  if (el.shownApp === app && el.shownCluster === cluster && el.shownCol === col) return;
  el.shownApp = app;
  el.shownCluster = cluster;
  if (el.shownCol !== col) {
    el.shownCol = col;
    el.setAttribute('aria-colindex', col);
  }
  if (!app) {
    el.className = 'cell empty';
    el.removeAttribute('href');
    el.removeAttribute('title');
    el.setAttribute('aria-label', 'not deployed to ' + cluster);
    el.textContent = '';
    return;
  }
  const s = app.status || {};
  const sync = s.sync?.status || 'Unknown';
  const health = s.health?.status || 'Unknown';
  const name = app.metadata.name;
  const rev = shortRev(s.sync?.revision);
  const label = `${name} on ${cluster}: ${sync}, ${health}${rev ? ', revision ' + rev : ''}`;
  el.className = 'cell st-' + cellState(app);
  el.href = `/applications/${encodeURIComponent(app.metadata.namespace)}/${encodeURIComponent(name)}`;
  el.title = label;
  el.setAttribute('aria-label', label);
  el.textContent = rev || sync;
}

// fillHead makes a row heading show row r: a Fleet's name links to the
// Fleet.
function fillHead(el, r) {
  el.title = r.namespace + '/' + r.name;
  if (!r.fleet) {
    el.textContent = r.name;
    return;
  }
  const a = document.createElement('a');
  a.href = `/fleets/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;
  const tag = document.createElement('span');
  tag.className = 'tag';
  tag.textContent = 'fleet';
  a.append(tag, ' ' + r.name);
  el.replaceChildren(a);
}

// Rows keeps the matrix's rows in the page without Preact, and reuses
// their elements: a row that scrolls out of view takes the place of one
// that scrolls in, where it stands (moved by a transform, not in the
// document), and only what differs is written: the row's index and
// heading, and the cells that show another Application. The rows that
// stay are not touched, and a scroll frame creates no element once the
// view is full.
//
// The row headings stand in a column of their own that sticks to the left
// edge as a whole, and each row's cells in a row of their own to the right
// of it: one sticky element for the whole matrix, where a sticky heading in
// each row made every row a layer of its own to lay out, paint and
// composite on each frame. For screen readers the two are one row: the row
// (with its heading) owns its cells, and the rows' group owns the rows in
// their order (aria-owns), whatever the order of the elements.
class Rows {
  constructor(group, heads, cells) {
    this.group = group;
    this.heads = heads;
    this.cells = cells;
    this.byIndex = new Map(); // aria-rowindex → slot in the page
    this.made = 0;
    this.skip = -1;
    this.names = null;
    this.shown = new Set(); // the names of the columns in the page
    this.order = '';
  }

  slot() {
    const n = this.made++;
    const head = document.createElement('div');
    head.className = 'matrix-row';
    head.id = 'matrix-row-' + n;
    head.setAttribute('role', 'row');
    const rh = document.createElement('span');
    rh.className = 'rowhead';
    rh.setAttribute('role', 'rowheader');
    rh.setAttribute('aria-colindex', '1');
    head.append(rh);
    const cells = document.createElement('div');
    cells.className = 'matrix-cells';
    cells.setAttribute('role', 'presentation');
    cells.id = 'matrix-cells-' + n;
    head.setAttribute('aria-owns', cells.id);
    this.heads.append(head);
    this.cells.append(cells);
    return { head, rh, cells, row: null, index: -1, names: null };
  }

  // fill makes a slot show row r at aria-rowindex index, with the columns
  // in view.
  fill(sl, r, index) {
    if (sl.index !== index) {
      sl.index = index;
      sl.head.setAttribute('aria-rowindex', index);
      sl.cells.dataset.rowindex = index;
      sl.head.style.transform = sl.cells.style.transform = `translateY(${(index - 2) * ROW}px)`;
    }
    if (sl.row?.id !== r.id) fillHead(sl.rh, r);
    const names = this.names;
    if (sl.names === names) {
      // The same columns: each cell stays in its column.
      let el = sl.cells.firstElementChild;
      for (let i = 0; i < names.length; i++, el = el.nextElementSibling) fillCell(el, r.cells.get(names[i]), names[i], this.skip + i + 2);
    } else {
      // Other columns: a cell of a column that stays keeps its element
      // (and the focus, if it has it); those of the columns that leave
      // show the columns that come.
      const kept = new Map(), spare = [];
      for (const el of [...sl.cells.children]) {
        if (this.shown.has(el.shownCluster)) kept.set(el.shownCluster, el);
        else {
          spare.push(el);
          el.remove();
        }
      }
      let at = sl.cells.firstElementChild;
      for (let i = 0; i < names.length; i++) {
        let el = kept.get(names[i]);
        if (!el) {
          el = spare.pop() || document.createElement('a');
          el.setAttribute('role', 'cell');
        }
        fillCell(el, r.cells.get(names[i]), names[i], this.skip + i + 2);
        if (el === at) at = at.nextElementSibling;
        else sl.cells.insertBefore(el, at);
      }
      sl.names = names;
    }
    sl.row = r;
  }

  // update shows rows[first, last) with the columns skip.. of names.
  update(rows, first, last, skip, names) {
    const sameCols = skip === this.skip && names === this.names;
    this.skip = skip;
    this.names = names;
    if (!sameCols) {
      this.shown = new Set(names);
      // The rows of cells are as wide as the columns in the page, and
      // stand under them: a row that changes is all there is to paint.
      this.cells.style.left = skip * COL + 'px';
      this.cells.style.width = names.length * COL + 'px';
    }
    const free = [];
    for (const [index, sl] of this.byIndex) {
      if (index < first + 2 || index >= last + 2) {
        this.byIndex.delete(index);
        free.push(sl);
        // A focused cell that scrolls away loses the focus, as it would
        // if it left the page, rather than keep it while it shows
        // another Application.
        const focused = document.activeElement;
        if (focused !== document.body && (sl.head.contains(focused) || sl.cells.contains(focused))) focused.blur();
      }
    }
    const order = [];
    for (let i = first; i < last; i++) {
      let sl = this.byIndex.get(i + 2);
      if (!sl) {
        sl = free.pop() || this.slot();
        this.byIndex.set(i + 2, sl);
      }
      if (!sameCols || sl.row !== rows[i] || sl.index !== i + 2) this.fill(sl, rows[i], i + 2);
      order.push(sl.head.id);
    }
    for (const sl of free) {
      sl.head.remove();
      sl.cells.remove();
    }
    const owns = order.join(' ');
    if (owns !== this.order) {
      this.order = owns;
      this.group.setAttribute('aria-owns', owns);
    }
  }
}

// step answers the place that Tab (dir 1) or Shift+Tab (dir -1) moves the
// focus to from {row, col} in the whole matrix, rendered or not, in the
// order of a table that had every row and column in the page: a Fleet's
// row heading (col -1, a link), then the cells of its row that hold an
// Application. null past either end: the focus leaves the matrix.
export function step({ rows, columns }, { row, col }, dir) {
  for (let r = row, c = col + dir; r >= 0 && r < rows.length; r += dir, c = dir > 0 ? -1 : columns.length - 1) {
    for (; c >= -1 && c < columns.length; c += dir) {
      if (c === -1 ? rows[r].fleet : rows[r].cells.has(columns[c])) return { row: r, col: c };
    }
  }
  return null;
}

// placeOf answers the {row, col} of a focusable element of the matrix (a
// cell, or the link in a row heading), or null.
function placeOf(el) {
  const at = el.closest?.('[aria-colindex]');
  const row = el.closest?.('.matrix-row, .matrix-cells');
  if (!at || !row || (at !== el && !el.matches('.rowhead a'))) return null;
  return { row: +(row.getAttribute('aria-rowindex') || row.dataset.rowindex) - 2, col: +at.getAttribute('aria-colindex') - 2 };
}

// focusable finds the element at {row, col} among those rendered.
function focusable(el, { row, col }) {
  if (col < 0) return el.querySelector(`.matrix-row[aria-rowindex="${row + 2}"] .rowhead a`);
  return el.querySelector(`.matrix-cells[data-rowindex="${row + 2}"] a.cell[href][aria-colindex="${col + 2}"]`);
}

// reveal scrolls the matrix so that {row, col} is whole in view, below
// the column headings and right of the row headings (col -1, a row
// heading, only needs its row in view).
function reveal(el, { row, col }) {
  const top = row * ROW, height = el.clientHeight - ROW;
  if (top < el.scrollTop) el.scrollTop = top;
  else if (top + ROW > el.scrollTop + height) el.scrollTop = top + ROW - height;
  if (col < 0) return;
  const left = col * COL, width = el.clientWidth - HEAD;
  if (left < el.scrollLeft) el.scrollLeft = left;
  else if (left + COL > el.scrollLeft + width) el.scrollLeft = left + COL - width;
}

// Matrix renders only the rows and columns in view (and a few beyond):
// however large the fleet, a scroll frame changes a few hundred elements.
// Preact renders the frame and the column headings, which change only when
// the columns in view do; Rows keeps the rows in step with the scroll
// position on each frame, without a render. The keyboard reaches every
// cell all the same: Tab and Shift+Tab move through the whole matrix as if
// it were all in the page, rendering the cell they move to first, and a
// focused cell is scrolled whole into view.
function Matrix({ matrix }) {
  const ref = useRef(null);
  const groupRef = useRef(null);
  const headsRef = useRef(null);
  const cellsRef = useRef(null);
  const rowsRef = useRef(null);
  const measureRef = useRef(null);
  const pending = useRef(null); // the place to focus once it is rendered
  const view = useRef({ top: 0, left: 0, height: 600, width: 1200 });
  const [colView, setColView] = useState({ left: 0, width: 1200 });
  const colRef = useRef(colView);
  const { rows, columns } = matrix;
  const c0 = Math.max(0, Math.floor(colView.left / COL) - COL_OVERSCAN);
  const c1 = Math.min(columns.length, Math.ceil((colView.left + colView.width - HEAD) / COL) + COL_OVERSCAN);
  const names = useMemo(() => columns.slice(c0, c1), [columns, c0, c1]);

  // show puts the rows of the last measured view in the page, and the
  // focus on a place that Tab moved to before it was rendered.
  const show = () => {
    const v = view.current;
    const first = Math.max(0, Math.floor(v.top / ROW) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((v.top + v.height) / ROW) + OVERSCAN);
    rowsRef.current.update(rows, first, last, c0, names);
    if (!pending.current) return;
    const target = focusable(ref.current, pending.current);
    pending.current = null;
    if (target) target.focus();
  };
  const showRef = useRef(show);
  showRef.current = show;

  useLayoutEffect(() => {
    if (!rowsRef.current) rowsRef.current = new Rows(groupRef.current, headsRef.current, cellsRef.current);
    show();
  });
  useEffect(() => {
    const el = ref.current;
    let frame = 0;
    // measure reads the scroll position and size first, then writes: no
    // layout is forced in between.
    const measure = () => {
      cancelAnimationFrame(frame);
      frame = 0;
      view.current = { top: el.scrollTop, left: el.scrollLeft, height: el.clientHeight, width: el.clientWidth };
      const { left, width } = view.current;
      // A change of the horizontal view renders the matrix again, and its
      // layout effect shows the rows; otherwise the rows follow here.
      if (left !== colRef.current.left || width !== colRef.current.width) setColView((colRef.current = { left, width }));
      else showRef.current();
    };
    measureRef.current = measure;
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    // The first frame with the matrix, for the render benchmark (test/bench).
    if (!performance.getEntriesByName('flotilla:first-matrix').length) performance.mark('flotilla:first-matrix');
    el.addEventListener('scroll', onScroll, { passive: true });
    // The matrix's own size, not the window's: it changes with the window,
    // and also when the page around it changes.
    const resized = new ResizeObserver(onScroll);
    resized.observe(el);
    return () => {
      el.removeEventListener('scroll', onScroll);
      resized.disconnect();
      cancelAnimationFrame(frame);
    };
  }, []);
  const onFocusIn = (e) => {
    const at = placeOf(e.target);
    // Only the keyboard's focus moves the view: a click does not shift
    // the cell under the pointer.
    if (!at || !e.target.matches(':focus-visible')) return;
    // The matrix's scroll-padding keeps a cell clear of the sticky
    // headings; a row heading sticks to the left edge and only needs its
    // row in view.
    if (at.col >= 0) e.target.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    else reveal(ref.current, at);
    // The cells around the focus are rendered before the next key press.
    measureRef.current?.();
  };
  const onKeyDown = (e) => {
    if (e.key !== 'Tab' || e.altKey || e.ctrlKey || e.metaKey) return;
    // From the matrix itself, Tab goes to the first row whole in view
    // (not to the rows rendered above it).
    const at = e.target === ref.current ? (e.shiftKey ? null : { row: Math.ceil(ref.current.scrollTop / ROW), col: -2 }) : placeOf(e.target);
    const next = at && step(matrix, at, e.shiftKey ? -1 : 1);
    if (!next) return;
    e.preventDefault();
    const target = focusable(ref.current, next);
    if (target) return target.focus();
    pending.current = next;
    reveal(ref.current, next);
    measureRef.current?.();
  };
  const width = HEAD + columns.length * COL;
  return html`<div class="matrix" ref=${ref} role="table" aria-label="Applications by cluster" aria-rowcount=${rows.length + 1}
      aria-colcount=${columns.length + 1} tabindex="0" onClick=${onLinkClick} onFocusIn=${onFocusIn} onKeyDown=${onKeyDown}>
    <div class="matrix-head" role="row" aria-rowindex="1" style=${{ width: width + 'px' }}>
      <span class="rowhead" role="columnheader" aria-colindex="1">Application / Fleet</span>
      ${c0 ? html`<span class="colgap" style=${{ width: c0 * COL + 'px' }}></span>` : null}
      ${names.map((c, i) => html`<span key=${c} class="colhead" role="columnheader" aria-colindex=${c0 + i + 2} title=${c}>${c}</span>`)}
    </div>
    <div class="matrix-body" ref=${groupRef} role="rowgroup" style=${{ height: rows.length * ROW + 'px', width: width + 'px' }}>
      <div class="matrix-rowheads" ref=${headsRef} role="presentation"></div>
      <div class="matrix-cellrows" role="presentation"><div class="matrix-cellwindow" ref=${cellsRef} role="presentation"></div></div>
    </div>
  </div>`;
}
