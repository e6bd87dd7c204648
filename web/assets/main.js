// The shell of the UI: login, navigation, the connection banner, and the
// routes of every page.
import { html, render, useEffect, useState } from './lib.js';
import { useLocation, match, navigate } from './router.js';
import { toLogin } from './api.js';
import { session, loadSettings, loadSession, logout } from './session.js';
import { start, stop, useStore } from './store.js';
import { Link } from './components.js';
import { Login } from './pages/login.js';
import { Overview } from './pages/overview.js';
import { Applications } from './pages/applications.js';
import { Application } from './pages/application.js';
import { Clusters } from './pages/clusters.js';
import { Fleets, Fleet } from './pages/fleets.js';

const nav = [['/', 'Overview'], ['/applications', 'Applications'], ['/clusters', 'Clusters'], ['/fleets', 'Fleets']];

function route(path, query) {
  let p;
  if (path === '/' || path === '') return html`<${Overview} query=${query} />`;
  if (path === '/applications') return html`<${Applications} query=${query} />`;
  if ((p = match('/applications/:ns/:name', path))) return html`<${Application} key=${p.ns + '/' + p.name} ns=${p.ns} name=${p.name} query=${query} />`;
  if (path === '/clusters') return html`<${Clusters} query=${query} />`;
  if (path === '/fleets') return html`<${Fleets} />`;
  if ((p = match('/fleets/:ns/:name', path))) return html`<${Fleet} ns=${p.ns} name=${p.name} />`;
  return html`<section class="page"><h1>Not found</h1><p>No page here. <${Link} href="/">Go to the overview<//>.</p></section>`;
}

function Banner() {
  const store = useStore();
  if (store.error) return html`<div class="banner error" role="alert">Could not load the fleet: ${store.error.message}</div>`;
  if (store.connection !== 'lost') return null;
  return html`<div class="banner" role="status">Connection to the server lost; live updates resume when it is back. Reconnecting…</div>`;
}

let expiryTimer = 0;
function watchExpiry() {
  clearTimeout(expiryTimer);
  const at = Date.parse(session.user?.expiresAt || '');
  if (!at) return;
  // setTimeout holds at most about 24 days.
  expiryTimer = setTimeout(async () => {
    if (!(await loadSession().catch(() => null))) {
      stop();
      toLogin();
    } else watchExpiry();
  }, Math.min(Math.max(at - Date.now() + 1000, 1000), 2 ** 31 - 1));
}

function Shell({ children, path }) {
  const out = async () => {
    await logout().catch(() => {});
    stop();
    navigate('/login', { replace: true });
  };
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <${Link} href="/" class="brand"><img src=${document.querySelector('link[rel=icon]')?.href} alt="" width="24" height="24" /> Flotilla<//>
      <nav aria-label="Main"><ul>${nav.map(([href, title]) => {
        const active = href === '/' ? path === '/' : path.startsWith(href);
        return html`<li key=${href}><${Link} href=${href} aria-current=${active ? 'page' : undefined}>${title}<//></li>`;
      })}</ul></nav>
      <div class="user"><span title=${(session.user?.groups || []).join(', ')}>${session.user?.username}</span>
        <button type="button" onClick=${out}>Log out</button></div>
    </header>
    <${Banner} />
    <main id="main" tabindex="-1">${children}</main>`;
}

function App() {
  const { path, query } = useLocation();
  const [, setUser] = useState(session.user);
  useEffect(() => {
    if (path !== '/login' && !session.user) toLogin();
    if (session.user && path !== '/login') {
      start();
      watchExpiry();
    }
  }, [path, session.user]);
  if (path === '/login') return html`<${Login} query=${query} onLogin=${() => setUser(session.user)} />`;
  if (!session.user) return null;
  return html`<${Shell} path=${path}>${route(path, query)}<//>`;
}

async function boot() {
  const root = document.getElementById('app');
  try {
    await loadSettings();
    await loadSession();
  } catch (err) {
    root.textContent = `Flotilla could not reach its server: ${err.message}`;
    return;
  }
  root.textContent = '';
  render(html`<${App} />`, root);
}

boot();
