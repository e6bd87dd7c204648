// Package rollout decides how a Fleet moves a new revision through its
// clusters in waves.
//
// It is pure: given the Fleet's waves, its clusters, the Application each
// cluster runs and the status the last decision wrote, Plan says which
// revision each cluster is pinned to now, where each wave is, and what
// happened since the last decision (a wave passed, a wave failed, a
// rollback). The Fleet reconciler reads the inputs, writes the pins into
// the generated Applications and the plan into the Fleet's status.
//
// The rules:
//   - The target is the newest revision of the template's source, unless
//     it is the revision that failed last (status.failedRevision): then the
//     fleet holds where it is until a newer revision arrives.
//   - Waves are taken in order. A wave's clusters move to the target only
//     once every earlier wave passed; at most maxParallel of them are on
//     their way at once.
//   - A wave passes when every one of its Applications is Synced and
//     Healthy at the target and every check holds, and this lasted for the
//     wave's bake time (or a promote ended it).
//   - A wave fails when one of its Applications at the target is Degraded
//     or its sync failed, or when it did not pass within the progress
//     deadline. The target becomes the failed revision and, with
//     autoRollback, every cluster not on the stable revision (the last one
//     that passed every wave) is pinned back to it.
//   - A cluster that has no Application yet starts on the stable revision,
//     or on the target when there is none: it has nothing running to
//     protect, and its wave moves it on as any other.
package rollout
