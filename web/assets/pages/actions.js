// The dialogs of an Application's actions. Each says what will happen
// before anything is sent.
import { html, useEffect, useState } from '../lib.js';
import { get, post, del, appPath } from '../api.js';
import { Dialog, ErrorMessage } from '../components.js';
import { UnifiedDiff } from '../diffview.js';
import { Time } from '../time.js';
import { shortRev } from '../safe.js';

const base = (app) => appPath(app.metadata.namespace, app.metadata.name);

export function SyncDialog({ app, onClose, onDone }) {
  const [revision, setRevision] = useState('');
  const [prune, setPrune] = useState('policy');
  const [dryRun, setDryRun] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [preview, setPreview] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const body = { dryRun };
    if (revision.trim()) body.revision = revision.trim();
    if (prune !== 'policy') body.prune = prune === 'on';
    try {
      const res = await post(`${base(app)}/sync`, body);
      if (dryRun) setPreview(res);
      else {
        onDone(`Sync of ${app.metadata.name} requested.`);
        onClose();
      }
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  const dest = app.spec?.destination || {};
  return html`<${Dialog} title=${'Sync ' + app.metadata.name} onClose=${onClose}>
    <form onSubmit=${submit} class="stack">
      <p>Applies ${revision.trim() ? html`revision <strong class="mono">${revision.trim()}</strong>` : 'the target revision'} of the source
        to cluster <strong>${dest.cluster}</strong>${dest.namespace ? html`, namespace <strong>${dest.namespace}</strong>` : null}.
        ${prune === 'on' ? ' Objects no longer in the source are deleted.' : prune === 'off' ? ' Objects no longer in the source are kept.' : ' Pruning follows the application\u2019s policy.'}
        ${dryRun ? ' Dry run: shows what would change and changes nothing.' : ''}</p>
      <label>Revision (branch, tag or commit; empty for the target revision)
        <input type="text" value=${revision} onInput=${(e) => setRevision(e.currentTarget.value)} maxlength="256" /></label>
      <fieldset><legend>Prune</legend>
        ${[['policy', 'The application\u2019s policy'], ['on', 'Prune'], ['off', 'Do not prune']].map(([v, t]) => html`<label key=${v} class="check">
          <input type="radio" name="prune" value=${v} checked=${prune === v} onChange=${() => setPrune(v)} /> ${t}</label>`)}
      </fieldset>
      <label class="check"><input type="checkbox" checked=${dryRun} onChange=${(e) => setDryRun(e.currentTarget.checked)} /> Dry run</label>
      <${ErrorMessage} error=${error} />
      ${preview ? html`<div class="preview"><h3>Would change</h3>
        ${(preview.resources || []).filter((r) => r.action !== 'None').map((r) => html`<details key=${r.kind + r.namespace + r.name}>
          <summary>${r.action} ${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}</summary><${UnifiedDiff} text=${r.diff} /></details>`)}
        ${(preview.resources || []).every((r) => r.action === 'None') ? html`<p>Nothing would change.</p>` : null}</div>` : null}
      <div class="actions">
        <button type="button" onClick=${onClose}>Cancel</button>
        <button type="submit" class="primary" disabled=${busy}>${dryRun ? 'Preview' : 'Sync'}</button>
      </div>
    </form>
  <//>`;
}

export function RollbackDialog({ app, onClose, onDone }) {
  const [history, setHistory] = useState(null);
  const [error, setError] = useState(null);
  const [choice, setChoice] = useState(null);
  useEffect(() => {
    get(`${base(app)}/history`).then((h) => setHistory(Array.isArray(h) ? h : h?.items || []), setError);
  }, []);
  const pin = app.status?.pin;
  const send = async (id) => {
    try {
      await post(`${base(app)}/rollback`, { id });
      onDone(id ? `Rollback of ${app.metadata.name} to #${id} requested.` : `${app.metadata.name} unpinned.`);
      onClose();
    } catch (err) {
      setError(err);
    }
  };
  if (choice) {
    return html`<${Dialog} title=${'Roll back ' + app.metadata.name} onClose=${onClose}>
      <p>Roll back <strong>${app.metadata.name}</strong> on cluster <strong>${app.spec?.destination?.cluster}</strong> to
        history entry #${choice.id}, revision <strong class="mono">${shortRev(choice.revision)}</strong>${choice.message ? html` (“${choice.message}”)` : null}.
        The application stays pinned to that revision, even with auto-sync, until you unpin it.</p>
      <${ErrorMessage} error=${error} />
      <div class="actions"><button type="button" onClick=${() => setChoice(null)}>Back</button>
        <button type="button" class="danger" onClick=${() => send(choice.id)}>Roll back to #${choice.id}</button></div>
    <//>`;
  }
  return html`<${Dialog} title=${'History of ' + app.metadata.name} onClose=${onClose}>
    ${pin ? html`<p class="notice">Pinned to #${pin.historyID} (<span class="mono">${shortRev(pin.revision)}</span>) since <${Time} value=${pin.since} />.
      <button type="button" onClick=${() => send(0)}>Unpin</button></p>` : null}
    <${ErrorMessage} error=${error} />
    ${!history ? html`<p class="muted">Loading…</p>` : !history.length ? html`<p>No history yet.</p>` : html`<table class="table">
      <thead><tr><th scope="col">#</th><th scope="col">Revision</th><th scope="col">Commit</th><th scope="col">Deployed</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
      <tbody>${[...history].reverse().map((h) => html`<tr key=${h.id}>
        <td>${h.id}</td><td class="mono" title=${h.revision}>${shortRev(h.revision)}</td>
        <td class="message">${h.message || ''}${h.author ? html`<div class="muted small">${h.author}</div>` : null}</td>
        <td><${Time} value=${h.deployedAt} /></td>
        <td><button type="button" onClick=${() => setChoice(h)} aria-label=${'Roll back to #' + h.id}>Roll back</button></td>
      </tr>`)}</tbody></table>`}
    <div class="actions"><button type="button" onClick=${onClose}>Close</button></div>
  <//>`;
}

export function DeleteDialog({ app, onClose, onDone }) {
  const automatedPrune = !!app.spec?.syncPolicy?.automated?.prune;
  const [policy, setPolicy] = useState(app.spec?.deletionPolicy || (automatedPrune ? 'Delete' : 'Orphan'));
  const [typed, setTyped] = useState('');
  const [error, setError] = useState(null);
  const n = (app.status?.resources || []).length;
  const cluster = app.spec?.destination?.cluster;
  const submit = async (ev) => {
    ev.preventDefault();
    try {
      await del(`${base(app)}?deletionPolicy=${encodeURIComponent(policy)}`);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<${Dialog} title=${'Delete ' + app.metadata.name} onClose=${onClose}>
    <form onSubmit=${submit} class="stack">
      <fieldset><legend>Deletion policy</legend>
        <label class="check"><input type="radio" name="policy" value="Delete" checked=${policy === 'Delete'} onChange=${() => setPolicy('Delete')} /> Delete its objects</label>
        <label class="check"><input type="radio" name="policy" value="Orphan" checked=${policy === 'Orphan'} onChange=${() => setPolicy('Orphan')} /> Orphan its objects (leave them running)</label>
      </fieldset>
      <p class="warning-text">${policy === 'Delete'
        ? `Deletes the application ${app.metadata.name} and its ${n} objects in cluster ${cluster}.`
        : `Deletes the application ${app.metadata.name}; its ${n} objects in cluster ${cluster} stay and are no longer managed.`}</p>
      <label>Type <strong>${app.metadata.name}</strong> to confirm
        <input type="text" value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} autocomplete="off" /></label>
      <${ErrorMessage} error=${error} />
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button type="submit" class="danger" disabled=${typed !== app.metadata.name}>Delete</button></div>
    </form>
  <//>`;
}
