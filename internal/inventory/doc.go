// Package inventory says what an Application owns: the objects it applied to
// its destination cluster, kept in the Application's status.resources.
//
// An object is named by an ObjMetadata (group, version, kind, namespace,
// name). Its identity leaves the version out, because two versions of one
// kind name the same stored object: an object applied as v1beta1 and later
// as v1 is one inventory entry, never "one added, one stale" (which would
// prune the object just applied).
//
// Promises:
//   - A Set holds each identity once; the version kept is the last one given.
//     A Set never changes once made, so it can be shared freely.
//   - Everything that lists returns a stable order (Keys), so status, events
//     and golden files do not churn.
//   - Difference tells what left the set: previous.Difference(current) is
//     what a prune should consider, and nothing else.
//   - Conversion to and from []v1alpha1.ResourceStatus keeps group, version,
//     kind, namespace and name; sync, health and message belong to the engine.
//
// Build the current inventory from what was applied (the apply package's
// ChangeSet, or its Manager.Inventory before applying), not from rendered
// objects as they are: only the cluster knows which kinds are namespaced, and
// a cluster-scoped object named with a namespace would look stale and be
// pruned.
package inventory
