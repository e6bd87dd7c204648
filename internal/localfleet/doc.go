// Package localfleet starts real Kubernetes control planes on loopback, for
// Flotilla's tests, benchmarks and `flotilla dev`.
//
// Each cluster is a set of real processes built from the versions pinned in
// hack/k8s: etcd, kube-apiserver (TLS, RBAC, an admin client certificate),
// kube-controller-manager, kube-scheduler and kwok, which plays one fake node
// so that Deployments are scheduled, their pods become Ready and the
// Deployment Available, as on a real cluster. A lean cluster runs etcd and
// kube-apiserver only, for benchmarks with many clusters.
//
// Promises:
//   - Ports are chosen at random on 127.0.0.1; nothing listens elsewhere.
//   - One kubeconfig (Fleet.Kubeconfig) has a context per cluster, named after it.
//   - Stop leaves no process behind. Each component runs in its own process
//     group; unless the fleet is detached, the kernel kills every component
//     when the process that started it dies (parent-death signal), so a killed
//     test binary leaks nothing either.
//   - A detached fleet (Options.Detach) outlives its starter; Load finds it
//     again from its state folder and Stop ends it. `flotilla dev` uses this.
//
// Tests share one fleet per package through TestMain and isolate themselves
// by namespace.
package localfleet
