// Package health tells how healthy the live objects of an Application are,
// in Flotilla's closed vocabulary (Healthy, Progressing, Degraded, Suspended,
// Missing, Unknown), and rolls them up into the Application's health.
//
// A Checker assesses one live object at a time. By default it follows
// kstatus (sigs.k8s.io/cli-utils/pkg/kstatus): Current is Healthy,
// InProgress and Terminating are Progressing, Failed is Degraded. Flotilla
// adds its own rules where kstatus' answer is not what a GitOps user needs
// (see rules in rules.go): a paused Deployment or a suspended CronJob or Job
// is Suspended; a Job is Progressing until it ends; a Service of type
// LoadBalancer is Progressing until it has an address; a claim whose volume
// is Lost is Degraded. Kinds without status semantics (ConfigMap, Secret,
// RBAC, custom resources with no status) are Healthy as soon as they exist;
// custom resources with standard conditions (Ready, Reconciling, Stalled)
// are read through them.
//
// Custom checks (Checks, compiled from an Application's healthChecks) are
// CEL expressions over the live object; one replaces every built-in rule for
// its group and kind.
//
// What it promises:
//
//   - Every message names its object and says why, short:
//     "Deployment/shop/web: 0/3 replicas available, progress deadline
//     exceeded". With a PodLister, a workload that is not healthy also says
//     what its most telling pod reports ("; pod web-5d4f-x2: ImagePullBackOff:
//     …"). Messages are at most MaxMessageLength bytes.
//   - Assess never fails and never panics: what it cannot decide (a check
//     that errs or runs past its limits, a malformed status) is Unknown for
//     that object alone, with the reason in the message.
//   - User expressions are checked when compiled (syntax, result type), and
//     each evaluation has a cost limit and a time limit, so a hostile
//     expression costs milliseconds per object, not a controller.
//   - A Secret's values never appear in a message.
//   - Rollup is deterministic: the same results, in any order, give the
//     same code and message.
//   - Nothing here writes to a cluster; the only reads are the pod look-ups
//     of the caller's PodLister.
//
// It does not watch or fetch the objects themselves: the caller passes the
// live objects it already has (nil for one that does not exist).
package health
