// Package shard shares keys (cluster names, for Flotilla's controller) among
// several replicas of one process, through Kubernetes Leases and nothing else.
//
// Each replica is a Member. It holds a coordination.k8s.io/v1 Lease named
// LeasePrefix+ID in one namespace and renews it every fifth of its duration.
// The members are the Leases with that prefix that have not expired. Every
// member computes the same owner for each key from the same member list with
// Assign: rendezvous hashing with bounded load.
//
// Promises:
//   - At most one member holds a key at a time. A member writes the keys it
//     holds or is about to hold into its Lease (ClaimsAnnotation) and holds a
//     new key only once it has written its claim and then seen no other live
//     Lease claim it. A key moves away from a live member only after that
//     member has let it go: it cancels the work in flight on the key, waits
//     for it to end, and drops the key from its claims.
//   - A member that cannot renew its Lease for a third of the Lease duration
//     lets every key go, before any other member may see the Lease as
//     expired. Expiry is judged by each observer's own clock since it last
//     saw the Lease change, never by comparing two machines' clocks.
//   - A member that stops cleanly deletes its Lease (Release): its keys move
//     within a renewal period. A member that dies leaves its Lease to expire:
//     its keys move about one Lease duration later.
//   - A nil *Member holds every key: sharding off costs nothing.
package shard
