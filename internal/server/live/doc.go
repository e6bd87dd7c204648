// Package live is the server's read-only view of an Application's objects
// in its workload cluster: the resource tree, one object's live manifest,
// the diff against what the source renders, events and pod logs.
//
// What it promises:
//
//   - It never writes to a workload cluster. It reads through the
//     destination Cluster's registered credentials (internal/cluster), and
//     the diff runs the engine's preview: dry-run requests only.
//   - It shows only what the Application owns (its inventory,
//     status.resources, whose live objects carry its owner annotation) and
//     their descendants found through owner references (the ReplicaSets of
//     a Deployment, the Pods of a ReplicaSet, a StatefulSet, a DaemonSet or
//     a Job, the Jobs of a CronJob, the EndpointSlices of a Service…). Any
//     other object, existing or not, is ErrNotFound: the answer does not
//     tell whether it exists.
//   - Secret values never leave it: a Secret's data and stringData values
//     are masked in manifests and diffs, and the values of the
//     Application's own Secrets are masked wherever they appear in event
//     messages and pod logs.
//   - Every answer is bounded (Limits): nodes of a tree, events, bytes and
//     time of a log.
package live
