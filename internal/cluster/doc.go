// Package cluster owns the clients Flotilla uses to reach the clusters of the
// fleet: one rest.Config per Cluster, built from its credentials Secret, with
// the Cluster's own QPS and burst limits, cached until the Cluster or its
// Secret changes. Register and Unregister add a cluster to the fleet and take
// it out again (see docs/clusters.md).
//
// Promises:
//   - "in-cluster" is the hub itself.
//   - A kubeconfig that runs a program (exec) or uses an auth provider is
//     refused unless Options.AllowExec is set: no shell is ever spawned on
//     behalf of a Secret.
//   - A missing Cluster or Secret, or unreadable credentials, is an error that
//     names the Cluster; never an empty cluster.
//   - Errors never carry credential material.
//   - Register gives the hub a ServiceAccount token of the target, never the
//     caller's own credentials; the hub's credentials Secret holds only
//     bearerToken and caData.
//   - Unregister touches only the hub: workloads in the target stay.
//   - A Watcher tells a change that may be drift (a deletion, a field
//     Flotilla applied changed by someone else) apart from news of health
//     (a status moved); when it cannot tell, it says drift.
package cluster
