// Package notify tells people and systems what the controller saw: a sync
// that failed or changed a cluster, an Application turned Degraded, drift,
// a rollout's wave passed, failed or rolled back, a Cluster lost. Each
// Notification (api/v1alpha1) routes the events it names, matched by
// project, fleet, application and severity, to one provider: a generic
// webhook (JSON, signed with HMAC-SHA256), Slack or Microsoft Teams
// incoming webhooks, a GitHub, GitLab or Gitea commit status, or
// Alertmanager (docs/notifications.md).
//
// Emitters hold a Sink and call Emit on a transition, never at every
// reconcile:
//
//	sink.Emit(ctx, notify.Event{
//		Name: flotillav1.EventRolloutFailed, Namespace: fleet.Namespace,
//		Project: fleet.Spec.Project, Fleet: fleet.Name, Cluster: "eu-1",
//		Object: "Deployment/shop/web", Revision: sha, Message: "web is Degraded: ...",
//	})
//
// Emit never blocks on a delivery: the Dispatcher matches the event against
// the Notifications of its namespace (from the manager's cache), drops it
// if the same event went through the same Notification within the window
// (10 minutes by default) or the Notification is over its rate (10 at once,
// then 20 a minute), and queues it. Workers render the message, read the
// provider's Secret and send, retrying a network error, a 5xx, 408 or 429
// with exponential backoff (5 attempts, 1s to 30s apart), then record the
// outcome in the Notification's status.lastDelivery.
//
// # Promises
//
//   - Secrets are never logged, never in status, never in an error: errors
//     name a provider's scheme and host only (a Slack address is itself a
//     secret), and an answer's body is cut and kept to printable text.
//   - A Notification's Secret is of its namespace and read as a source's
//     Secrets are: every Project it names must allow it, and a Cluster's
//     credentials never are.
//   - Providers are reached under the controller's address rules: no
//     link-local (cloud metadata) address ever, loopback only with
//     --allow-local-repos, private ones refused with --deny-private-repos;
//     no proxy from the environment, no redirect followed, 10s a request.
//   - A token (commit statuses, Alertmanager) is never sent over plain http
//     except to a loopback address: the request is refused where it is built.
//   - Templates are text/template without range, define, template,
//     variables, print or printf: their cost is bounded by their size; the
//     output is cut at 4 KiB, and an execution stops after a second.
package notify
