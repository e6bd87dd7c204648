// Package engine performs one Application's sync, as a recipe:
// resolve the destination → fetch the revision → render → compare (a
// server-side dry-run) → apply → prune → result. It knows nothing of
// controller-runtime: the controller decides when to sync and turns the
// Result into status, events and metrics.
//
// Promises:
//   - A failing source, render or cluster never deletes anything: prune runs
//     only after a successful apply of a complete render.
//   - A render with no objects prunes nothing unless the Application allows
//     it (syncPolicy.allowEmpty).
//   - Prune deletes only objects in the previous inventory that still carry
//     this Application's exact ownership (see internal/apply).
//   - Every error is an *Error carrying the condition Reason that names the
//     step that failed.
//   - Fetches and renders are shared: one fetch per (repository, commit) and
//     one render per (commit, path, render inputs), whichever Applications ask.
//   - Observe, the health refresh, writes nothing, fetches and renders
//     nothing: it reads the objects of the last finished sync from the
//     watch caches.
package engine
