// Small pieces shared by the pages.
import { html, useEffect, useRef } from './lib.js';
import { onLinkClick } from './router.js';
import { safeHref } from './safe.js';

export function Link({ href, children, ...rest }) {
  return html`<a href=${href} onClick=${onLinkClick} ...${rest}>${children}</a>`;
}

// ExternalLink is a link only for http(s) URLs; anything else is text.
export function ExternalLink({ url, children }) {
  const href = safeHref(url);
  if (!href) return html`<span class="mono">${children || url}</span>`;
  return html`<a href=${href} rel="noopener noreferrer nofollow" target="_blank" class="mono">${children || url}</a>`;
}

const syncIcons = { Synced: '✓', OutOfSync: '≠', Unknown: '?' };
const healthIcons = { Healthy: '♥', Progressing: '◔', Degraded: '✕', Suspended: '❚❚', Missing: '∅', Unknown: '?' };

export function SyncBadge({ status }) {
  const s = status || 'Unknown';
  return html`<span class=${'badge sync-' + s}><span aria-hidden="true">${syncIcons[s] || '?'}</span> ${s}</span>`;
}

export function HealthBadge({ status }) {
  const s = status || 'Unknown';
  return html`<span class=${'badge health-' + s}><span aria-hidden="true">${healthIcons[s] || '?'}</span> ${s}</span>`;
}

// cellState is the one colour of an Application: the worst of its sync
// and health.
export function cellState(app) {
  const sync = app?.status?.sync?.status || 'Unknown';
  const health = app?.status?.health?.status || 'Unknown';
  if (health === 'Degraded' || app?.status?.operation?.phase === 'Failed') return 'degraded';
  if (health === 'Missing') return 'missing';
  if (health === 'Progressing' || app?.status?.operation?.phase === 'Running') return 'progressing';
  if (sync === 'OutOfSync') return 'outofsync';
  if (health === 'Suspended') return 'suspended';
  if (sync === 'Synced' && health === 'Healthy') return 'healthy';
  return 'unknown';
}

const kindAbbrev = {
  Deployment: 'deploy', StatefulSet: 'sts', DaemonSet: 'ds', ReplicaSet: 'rs', Pod: 'pod',
  Service: 'svc', Ingress: 'ing', ConfigMap: 'cm', Secret: 'secret', Job: 'job', CronJob: 'cron',
  Namespace: 'ns', ServiceAccount: 'sa', Role: 'role', RoleBinding: 'rb', ClusterRole: 'crole',
  ClusterRoleBinding: 'crb', PersistentVolumeClaim: 'pvc', EndpointSlice: 'eps', Endpoints: 'ep',
  HorizontalPodAutoscaler: 'hpa', CustomResourceDefinition: 'crd', NetworkPolicy: 'netpol',
  Application: 'app',
};

export function KindIcon({ kind }) {
  const label = kindAbbrev[kind] || (kind || '?').replace(/[^A-Z]/g, '').toLowerCase().slice(0, 4) || 'obj';
  return html`<span class=${'kind kind-' + label} aria-hidden="true">${label}</span>`;
}

export function Labels({ labels }) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return html`<span class="muted">none</span>`;
  return html`<ul class="chips">${entries.map(([k, v]) => html`<li class="chip" key=${k}>${k}=${v}</li>`)}</ul>`;
}

// Dialog is a modal <dialog>: it keeps the focus inside, and Escape closes it.
export function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d && d.open && d.close();
  }, []);
  return html`<dialog ref=${ref} aria-label=${title} onClose=${onClose} onCancel=${onClose}>
    <h2>${title}</h2>
    ${children}
  </dialog>`;
}

export function ErrorMessage({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message || String(error)}</p>`;
}

export function Conditions({ conditions }) {
  if (!conditions || !conditions.length) return null;
  return html`<table class="table conditions"><caption>Conditions</caption>
    <thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th></tr></thead>
    <tbody>${conditions.map((c) => html`<tr key=${c.type}><td>${c.type}</td><td>${c.status}</td><td>${c.reason}</td><td class="message">${c.message}</td></tr>`)}</tbody>
  </table>`;
}

// revisionCommit is the history entry of the revision an Application is
// at (its message and author, which the controller reads from a git source
// when it adds the entry), or null.
export function revisionCommit(status) {
  const rev = status?.sync?.revision;
  const h = status?.history || [];
  for (let i = h.length - 1; i >= 0; i--) {
    if (h[i].revision === rev) return h[i];
  }
  return null;
}

// CommitLine shows a commit's message and author, as text.
export function CommitLine({ entry, author = true }) {
  if (!entry || (!entry.message && !entry.author)) return null;
  return html`<div class="commit small"><span class="message">${entry.message || ''}</span>${author && entry.author ? html` <span class="muted">${entry.author}</span>` : null}</div>`;
}
