package controller

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// commitsRead answers one commit and counts the reads; it stands for the
// source client, whose real reads internal/source and test/ui check.
type commitsRead struct {
	info  source.CommitInfo
	err   error
	asked []string
}

func (c *commitsRead) Commit(_ context.Context, req source.GitRequest) (source.CommitInfo, error) {
	c.asked = append(c.asked, req.Revision)
	return c.info, c.err
}

// TestCommitOf: the author and message are read only for a git revision
// that is about to get a history entry, taken from an earlier entry of the
// same commit when there is one, and left out when they cannot be read.
func TestCommitOf(t *testing.T) {
	fix := source.CommitInfo{Author: "Ann <ann@example.com>", Message: "Fix the Service"}
	gitApp := func(history ...flotillav1.HistoryEntry) *flotillav1.Application {
		a := &flotillav1.Application{Spec: flotillav1.ApplicationSpec{Source: flotillav1.ApplicationSource{RepoURL: "https://git.example.com/x.git"}}}
		a.Status.History = history
		return a
	}
	for _, tc := range []struct {
		name     string
		app      *flotillav1.Application
		revision string
		err      error
		want     source.CommitInfo
		reads    int
	}{
		{"new revision", gitApp(flotillav1.HistoryEntry{ID: 1, Revision: "a"}), "b", nil, fix, 1},
		{"first entry", gitApp(), "a", nil, fix, 1},
		{"same as the newest entry: no entry, no read", gitApp(flotillav1.HistoryEntry{ID: 1, Revision: "a"}), "a", nil, source.CommitInfo{}, 0},
		{"a rollback to an entry that has them", gitApp(
			flotillav1.HistoryEntry{ID: 1, Revision: "a", Message: "Old", Author: "Bo <bo@example.com>"},
			flotillav1.HistoryEntry{ID: 2, Revision: "b"}), "a", nil, source.CommitInfo{Author: "Bo <bo@example.com>", Message: "Old"}, 0},
		{"an OCI artifact", &flotillav1.Application{Spec: flotillav1.ApplicationSpec{Source: flotillav1.ApplicationSource{RepoURL: "oci://r.example.com/x"}}}, "v1@sha256:1", nil, source.CommitInfo{}, 0},
		{"a chart", &flotillav1.Application{Spec: flotillav1.ApplicationSpec{Source: flotillav1.ApplicationSource{RepoURL: "https://charts.example.com", Chart: "x"}}}, "1.0.0@sha256:1", nil, source.CommitInfo{}, 0},
		{"unreadable", gitApp(), "a", errors.New("fetch failed"), source.CommitInfo{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &commitsRead{err: tc.err}
			if tc.err == nil {
				c.info = fix
			}
			r := &ApplicationReconciler{Commits: c, Log: slog.New(slog.DiscardHandler)}
			got := r.commitOf(context.Background(), tc.app, nil, tc.revision)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("commitOf (-want +got):\n%s", diff)
			}
			if len(c.asked) != tc.reads {
				t.Errorf("read %d times (%v), want %d", len(c.asked), c.asked, tc.reads)
			}
		})
	}
}
