// Who is logged in, what the login page offers, and what the user may do.
import { get, request, setCSRF } from './api.js';

export const session = { settings: null, user: null };

export async function loadSettings() {
  session.settings = await get('/api/v1/settings', { public: true });
  return session.settings;
}

// loadSession answers the session, or null when nobody is logged in.
export async function loadSession() {
  // The CSRF cookie comes with every session cookie; without it there is
  // no session to ask about (and no 401 in the console).
  if (!/(?:^|;\s*)flotilla_csrf=/.test(document.cookie)) {
    session.user = null;
    return null;
  }
  try {
    session.user = await get('/api/v1/session', { public: true });
  } catch (err) {
    if (err.status === 401) {
      session.user = null;
      return null;
    }
    throw err;
  }
  setCSRF(session.user.csrfToken);
  return session.user;
}

export async function login(username, password) {
  await request('POST', '/api/v1/session', { username, password }, { public: true });
  return loadSession();
}

export async function logout() {
  try {
    await request('DELETE', '/api/v1/session', undefined, { public: true });
  } finally {
    session.user = null;
    setCSRF('');
  }
}

// can says whether the session's verbs allow verb on the object's Project.
// Without verbs in the session (an older server) every button shows and the
// server decides.
export function can(verb, obj) {
  const verbs = session.user?.verbs;
  if (!verbs) return true;
  const project = obj?.spec?.project || 'default';
  const [resource] = verb.split(':');
  for (const scope of ['*', project]) {
    const list = verbs[scope] || [];
    if (list.includes(verb) || list.includes('*') || list.includes(resource + ':*')) return true;
  }
  return false;
}
