// Package controller runs Flotilla's reconcilers in the hub on
// controller-runtime. The Application reconciler decides when to sync (an
// automated sync on every new revision and at each interval, a manual sync
// on request), hands the sync to internal/engine, and turns the result into
// one status patch, Kubernetes Events and metrics.
//
// Promises:
//   - One status patch per reconcile, plus one before a sync that may create
//     objects (it records them in the inventory first, so that a crash
//     between the apply and the status patch orphans nothing).
//   - observedGeneration moves only when a reconcile succeeded.
//   - Failures are retried with the Application's backoff; a stalled
//     Application (bad path, broken manifest) waits for a change.
//   - One Application's failure never stops the others.
//   - With sharding on (Options.Shards), an Application, a Cluster's
//     heartbeat and a Fleet are reconciled only by the replica that holds
//     their key (package shard): the destination cluster, the Cluster's
//     name, Fleet/NAME. The others skip them, write nothing, and look again
//     a Lease duration later.
package controller
