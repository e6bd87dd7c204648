// Package diff tells how a live Kubernetes object differs from its desired
// state, after taking away what is never a difference. Application status
// uses it to say what is out of sync; the REST API, `flotilla app diff` and
// the UI show its results as they are.
//
// A Differ, made by New from an Application's ignoreDifferences, compares
// one object (Object) or many (Objects, one Report sorted by object). The
// desired object is the one the API server would store, as a server-side
// apply dry-run returns it, so that defaults and fields other managers own
// are on both sides; either side may be nil (to create, to delete).
//
// # Normalization
//
// Before comparing, both sides lose, in this order:
//
//  1. status, and the metadata the API server sets by itself:
//     managedFields, resourceVersion, generation, uid, creationTimestamp,
//     selfLink, deletionTimestamp, deletionGracePeriodSeconds; the
//     kubectl.kubernetes.io/last-applied-configuration annotation (a copy of
//     the whole object, a Secret's data included); labels and annotations
//     left empty.
//  2. For a core/v1 Secret, stringData is folded into data (base64-encoded,
//     as the API server stores it), so ignore rules point at /data/<key>.
//  3. What the ignoreDifferences rules that match the object ignore: the
//     targets of their jsonPointers, and every field that their
//     managedFieldsManagers own according to the LIVE object's
//     metadata.managedFields (read as structured-merge-diff field sets:
//     fields, list elements by key, by value or by index). An object or
//     list left empty by a removal goes too.
//  4. For a core/v1 Secret, every value of data and stringData is replaced
//     by a mask: MaskUnchanged on both sides when it is the same,
//     MaskDesired and MaskLive when it differs or is on one side only.
//
// # Ignore rules
//
// A rule matches an object when its group is the object's ("" is the core
// group, not any group) and its kind the object's kind; an empty namespace
// or name matches any. "*" matches anything in any of the four. A JSON
// pointer is RFC 6901 ("~1" for "/", "~0" for "~"); one that points at
// nothing is fine and ignores nothing. An array index counts from 0;
// removing an element shifts the next ones. New checks every rule first and
// refuses the set with an error naming the first bad rule.
//
// # What it promises
//
//   - No value of a Secret's data or stringData, nor of any
//     last-applied-configuration annotation, appears in a Result, a Report
//     or an error, in any form: masks are fixed strings, not hashes (see
//     MaskUnchanged for why). Keys of data stay visible.
//   - Results are deterministic: the same objects and rules give the same
//     bytes. YAML keys are sorted, paths are in document order, a Report is
//     sorted by group, kind, namespace and name.
//   - Changed, Paths and Diff agree: an object is Changed when it is to be
//     created or deleted or has a changed path, and then it has a Diff.
//     Numbers compare by value (3 equals 3.0).
//   - The caller's objects are never modified; a Differ is safe for
//     concurrent use.
//   - One object that cannot be diffed never stops the others (Objects);
//     errors are *ObjectError or *RuleError values, checked with errors.Is
//     against ErrInvalidRule, ErrInvalidPointer, ErrNoObject, ErrMismatch,
//     ErrInvalidObject, ErrManagedFields.
//   - Time and memory are bounded: the line diff is exact up to 1000
//     changed lines and falls back to anchoring on unique lines (still a
//     correct diff, not always the shortest) past that.
//
// It does not read clusters, run dry-runs, or decide sync status; and it
// masks the values of core/v1 Secrets only, not secrets kept in other kinds.
package diff
