// What the pages show of the hub: Applications, Clusters and Fleets, loaded
// once and then kept current by the server's event stream.
import { listAll, get } from './api.js';
import { useEffect, useState } from './lib.js';

export const FLEET_LABEL = 'flotilla.dev/fleet';

const kinds = { Application: 'applications', Cluster: 'clusters', Fleet: 'fleets' };

export const store = {
  applications: new Map(),
  clusters: new Map(),
  fleets: new Map(),
  loaded: false,
  error: null,
  connection: 'connecting', // connecting | open | lost
  version: 0,
};

const listeners = new Set();
let pending = false;

// changed tells subscribers once per frame, however many events arrived.
function changed() {
  store.version++;
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    for (const l of listeners) l(store.version);
  });
}

export function useStore() {
  const [, setV] = useState(store.version);
  useEffect(() => {
    listeners.add(setV);
    return () => listeners.delete(setV);
  }, []);
  return store;
}

export const key = (obj) => `${obj.metadata?.namespace || ''}/${obj.metadata?.name || ''}`;

function fill(map, items) {
  map.clear();
  for (const it of items) map.set(key(it), it);
}

let source = null;
let retry = 0;
let started = false;

export async function loadAll() {
  const [apps, clusters, fleets] = await Promise.all([
    listAll('/api/v1/applications'),
    listAll('/api/v1/clusters').catch(() => []),
    listAll('/api/v1/fleets').catch(() => []),
  ]);
  fill(store.applications, apps);
  fill(store.clusters, clusters);
  fill(store.fleets, fleets);
  store.loaded = true;
  store.error = null;
  changed();
}

// start loads the lists and follows the stream; safe to call again.
export async function start() {
  if (started) return;
  started = true;
  try {
    await loadAll();
  } catch (err) {
    store.error = err;
    changed();
  }
  connect();
}

export function stop() {
  started = false;
  if (source) source.close();
  source = null;
  store.loaded = false;
  store.applications.clear();
  store.clusters.clear();
  store.fleets.clear();
}

function connect() {
  if (!started) return;
  source = new EventSource('/api/v1/stream?kinds=applications,clusters,fleets');
  source.addEventListener('open', () => {
    retry = 0;
    setConnection('open');
  });
  for (const type of ['ADDED', 'MODIFIED', 'DELETED']) {
    source.addEventListener(type, (ev) => apply(type, ev.data));
  }
  source.addEventListener('RESYNC', () => loadAll().catch(() => {}));
  source.addEventListener('error', () => {
    setConnection('lost');
    // The browser reconnects on its own (with Last-Event-ID) unless the
    // server answered with an error status; then we start a new stream
    // after checking that the session still stands.
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      retry = Math.min(retry + 1, 6);
      setTimeout(reconnect, 1000 * 2 ** (retry - 1));
    }
  });
}

async function reconnect() {
  if (!started) return;
  try {
    await get('/api/v1/session');
    await loadAll();
  } catch {
    // A 401 has gone to the login page; other errors retry below.
  }
  connect();
}

function setConnection(state) {
  if (store.connection === state) return;
  store.connection = state;
  changed();
}

function apply(type, data) {
  let ev;
  try {
    ev = JSON.parse(data);
  } catch {
    return;
  }
  const map = store[kinds[ev.kind]];
  if (!map || !ev.object || !ev.object.metadata) return;
  if (type === 'DELETED') map.delete(key(ev.object));
  else map.set(key(ev.object), ev.object);
  changed();
}
