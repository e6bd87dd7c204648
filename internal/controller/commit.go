package controller

import (
	"context"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// commitTimeout bounds reading a commit's author and message once a sync
// applied it: a history entry without them is better than a late status.
const commitTimeout = 15 * time.Second

// CommitReader reads a git commit's author and message: *source.Client,
// whose cache still holds the commit the sync just fetched.
type CommitReader interface {
	Commit(ctx context.Context, req source.GitRequest) (source.CommitInfo, error)
}

// commitOf is the author and message of revision for the history entry a
// sync that applied it is about to add (issue 12: the UI's rollback list
// and the applications list show them). Nothing is read when no entry will
// be added, when the source is not git, or when an entry of the history
// already names the same commit; a commit that cannot be read leaves the
// entry without them, and the sync's result stands.
func (r *ApplicationReconciler) commitOf(ctx context.Context, app *flotillav1.Application, creds *source.Credentials, revision string) source.CommitInfo {
	h := app.Status.History
	if r.Commits == nil || revision == "" || len(h) > 0 && h[len(h)-1].Revision == revision {
		return source.CommitInfo{}
	}
	src := app.Spec.Source
	if (source.Request{URL: src.RepoURL, Chart: src.Chart}).Kind() != source.KindGit {
		return source.CommitInfo{}
	}
	for _, e := range h {
		if e.Revision == revision && (e.Message != "" || e.Author != "") {
			return source.CommitInfo{Author: e.Author, Message: e.Message}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	info, err := r.Commits.Commit(ctx, source.GitRequest{URL: src.RepoURL, Revision: revision, Credentials: creds})
	if err != nil {
		r.Log.Info("commit message not read", "app", app.Namespace+"/"+app.Name, "revision", revision, "error", err)
	}
	return info
}
