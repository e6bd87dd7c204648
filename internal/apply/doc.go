// Package apply is the one place where Flotilla changes a cluster. A
// Manager, one per cluster and field manager ("flotilla"), applies an
// Application's rendered objects by server-side apply, tells what an apply
// would change without writing (Compare), and prunes what left the
// Application's inventory. Every result is a ChangeSet, which events, logs,
// the inventory and the UI consume as it is. Manager.Inventory names the
// objects an Apply may come to own, before anything is written.
//
// What it promises:
//
//   - Dry-run first. Every object of a stage is dry-run on the server before
//     any object of that stage is written; if one is refused, none is
//     written, and the error names it: "Deployment/shop/web: dry-run failed
//     (Invalid): …".
//   - No-ops are skipped. An object whose dry-run result equals the live
//     object (status and server-set metadata aside) is not written: applying
//     an unchanged state sends no write at all (only reads and dry-runs).
//   - Staged. CustomResourceDefinitions, Namespaces and ClusterRoles are
//     applied first and the CRDs waited for (Established and served, within
//     Options.CRDTimeout); then everything else, so a CRD and its custom
//     resources, or a Namespace and its contents, can be applied together.
//   - Owned. Every applied object carries the tracking label
//     (app.flotilla.dev/name) and owner annotation
//     (app.flotilla.dev/owner: namespace/name/uid) of its Application. An
//     existing object without this owner's annotation is a Conflict: not
//     applied, not adopted, reported. ApplyOptions.AdoptUnowned takes over
//     objects that have no owner at all, never another Application's.
//   - Prune deletes only what is provably this Application's: the live object
//     carries its exact owner annotation and its tracking label. Namespaces,
//     CRDs and PersistentVolumeClaims are kept unless PruneOptions allow
//     them, and even then a Namespace (or a CRD) that still holds objects
//     this prune does not delete is kept.
//   - The caller's objects are never modified.
//   - Errors are typed: *ObjectError carries the object, the step and the
//     v1alpha1 condition reason; sentinels (ErrUnknownKind …) work with
//     errors.Is and the API server's reasons with apierrors.IsInvalid and
//     friends. No value of a Secret's data appears in an error or a ChangeSet.
//
// It does not decide what to prune (the engine does, from the inventory), nor
// ignore differences, nor wait for health.
package apply
