// Package install builds and applies Flotilla's own manifests in a hub: the
// CRDs, and with Options.Controller the controller's Deployment, its
// ServiceAccount, the least Role it needs, a metrics Service, a
// NetworkPolicy and, for more than one replica, a PodDisruptionBudget.
//
// The manifests come from one source, the kustomize tree of config/
// (embedded by package config), built in memory with kustomize's krusty: what
// `flotilla install --controller` applies, what `--export` prints and what
// `kubectl apply -k config/default` applies are the same objects. Applying is
// server-side apply with one field manager, so re-running install updates in
// place; uninstalling deletes Flotilla's own objects and never what its
// Applications deployed (their finalizers release or delete those first, per
// each Application's deletionPolicy, when asked to).
package install
