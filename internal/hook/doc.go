// Package hook reads when, within one sync of an Application, each of its
// rendered objects is applied: its phase (PreSync, Sync, PostSync,
// SyncFail), its wave (an integer, default 0) and, for hooks, when the
// object is deleted again (its delete policies).
//
// Flotilla's own annotations come first (flotilla.dev/phase,
// flotilla.dev/wave, flotilla.dev/hook-delete-policy); Argo CD's
// (argocd.argoproj.io/hook, argocd.argoproj.io/sync-wave,
// argocd.argoproj.io/hook-delete-policy) are read as aliases, then Helm's
// (helm.sh/hook, helm.sh/hook-weight, helm.sh/hook-delete-policy), so that
// repositories written for either run unchanged. See docs/hooks.md.
//
// What it promises:
//
//   - An object without any of these annotations is an ordinary object of
//     the Sync phase, wave 0.
//   - A hook (a PreSync, PostSync or SyncFail object, or one Argo CD marks
//     as a hook) is created afresh for each sync that changes something,
//     never applied as an ordinary object; BeforeHookCreation is its delete
//     policy unless it names others.
//   - An annotation it cannot read is an error naming the object and the
//     annotation, never a silent default.
//
// It is pure: it reads objects and writes nothing.
package hook
