// Package cluster owns the clients Flotilla uses to reach the clusters of the
// fleet: one rest.Config per Cluster, built from its credentials Secret, with
// the Cluster's own QPS and burst limits, cached until the Cluster or its
// Secret changes.
//
// Promises:
//   - "in-cluster" is the hub itself.
//   - A kubeconfig that runs a program (exec) or uses an auth provider is
//     refused unless Options.AllowExec is set: no shell is ever spawned on
//     behalf of a Secret.
//   - A missing Cluster or Secret, or unreadable credentials, is an error that
//     names the Cluster; never an empty cluster.
//   - Errors never carry credential material.
package cluster
