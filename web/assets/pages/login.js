// The login page: a password form, and "Log in with …" when single
// sign-on is configured. Either way the user returns to the page they came
// from.
import { html, useState } from '../lib.js';
import { navigate } from '../router.js';
import { safeReturn } from '../safe.js';
import { session, login } from '../session.js';
import { ErrorMessage } from '../components.js';

export function Login({ query, onLogin }) {
  const ret = safeReturn(query.get('return') || '/');
  const s = session.settings || { passwordLogin: true, sso: {} };
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(query.get('error') ? new Error('Single sign-on failed; try again.') : null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
      onLogin();
      navigate(ret, { replace: true });
    } catch (err) {
      if (err.status === 401) setError(new Error('Wrong user name or password.'));
      else if (err.status === 429) setError(new Error(`Too many attempts; try again${err.retryAfter ? ' in ' + err.retryAfter + ' s' : ' later'}.`));
      else setError(err);
      setBusy(false);
    }
  };
  return html`<main class="login" id="main">
    <div class="login-box">
      <h1><img src=${document.querySelector('link[rel=icon]')?.href} alt="" width="32" height="32" /> Flotilla</h1>
      ${s.passwordLogin !== false ? html`<form onSubmit=${submit} class="stack" aria-label="Log in">
        <label>User name <input name="username" autocomplete="username" required value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
        <${ErrorMessage} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>Log in</button>
      </form>` : html`<${ErrorMessage} error=${error} />`}
      ${s.sso?.enabled ? html`<p class="or">${s.passwordLogin !== false ? 'or' : ''}</p>
        <a class="button sso" href=${'/auth/login?return=' + encodeURIComponent(ret)}>Log in with ${s.sso.name || 'single sign-on'}</a>` : null}
      ${s.version ? html`<p class="muted small">Flotilla ${s.version}</p>` : null}
    </div>
  </main>`;
}
