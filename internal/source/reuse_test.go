package source_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// TestCheckoutLinksUnchangedFiles: the checkout of a new commit shares the
// files it holds unchanged with the checkout of the commit before (one
// inode, no second write), and is exactly what a checkout from nothing
// gives: changed, added, removed and re-moded files, symbolic links and
// folders as git would write them. A change of .gitattributes, which
// changes what git writes for an unchanged blob, shares nothing; nor does a
// checkout whose predecessor the cache removed, which is still whole.
func TestCheckoutLinksUnchangedFiles(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/fleet.git")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	url := srv.URL("org/fleet.git")
	base := []gitserver.Entry{
		{Path: "apps/web/deploy.yaml", Content: "kind: Deployment\n"},
		{Path: "apps/web/cm.yaml", Content: "kind: ConfigMap\n"},
		{Path: "apps/db/sts.yaml", Content: "kind: StatefulSet\n"},
		{Path: "gone.yaml", Content: "kind: Secret\n"},
		{Path: "run.sh", Content: "#!/bin/sh\n", Mode: gitserver.ModeExecutable},
		{Path: "tool.sh", Content: "#!/bin/sh\necho\n"},
		{Path: "link", Content: "apps/web/deploy.yaml", Mode: gitserver.ModeSymlink},
	}
	repo.CommitEntries("main", base)
	next := []gitserver.Entry{
		{Path: "apps/web/deploy.yaml", Content: "kind: Deployment\n"},                   // unchanged
		{Path: "apps/web/cm.yaml", Content: "kind: ConfigMap\ndata: {}\n"},              // changed
		{Path: "apps/db/sts.yaml", Content: "kind: StatefulSet\n"},                      // unchanged
		{Path: "apps/new/svc.yaml", Content: "kind: Service\n"},                         // added, new folder
		{Path: "run.sh", Content: "#!/bin/sh\n", Mode: gitserver.ModeExecutable},        // unchanged
		{Path: "tool.sh", Content: "#!/bin/sh\necho\n", Mode: gitserver.ModeExecutable}, // made executable
		{Path: "link", Content: "apps/db/sts.yaml", Mode: gitserver.ModeSymlink},        // retargeted
	}
	c := newClient(t, nil)
	first := fetch(t, c, source.GitRequest{URL: url, Revision: "main"})
	repo.CommitEntries("main", next)
	second := fetch(t, c, source.GitRequest{URL: url, Revision: "main"})

	fresh := newClient(t, nil)
	whole := fetch(t, fresh, source.GitRequest{URL: url, Revision: "main"})
	if diff := cmp.Diff(readTree(t, whole.Dir), readTree(t, second.Dir)); diff != "" {
		t.Errorf("checkout after a checkout differs from one from nothing (-from nothing +after):\n%s", diff)
	}
	if diff := cmp.Diff(modes(t, whole.Dir), modes(t, second.Dir)); diff != "" {
		t.Errorf("modes differ from a checkout from nothing (-from nothing +after):\n%s", diff)
	}
	for _, p := range []string{"apps/web/deploy.yaml", "apps/db/sts.yaml", "run.sh"} {
		if !sameFile(t, first.Dir, second.Dir, p) {
			t.Errorf("%s is unchanged but was written again", p)
		}
	}
	for _, p := range []string{"apps/web/cm.yaml", "tool.sh"} {
		if sameFile(t, first.Dir, second.Dir, p) {
			t.Errorf("%s changed but shares the old file", p)
		}
	}
	if diff := cmp.Diff("kind: Deployment\n", readTree(t, first.Dir)["apps/web/deploy.yaml"]); diff != "" {
		t.Errorf("the first checkout changed: %s", diff)
	}
	if _, err := os.Lstat(filepath.Join(second.Dir, "gone.yaml")); !os.IsNotExist(err) {
		t.Errorf("gone.yaml is in the new checkout: %v", err)
	}

	// A .gitattributes change: git may write an unchanged blob otherwise.
	attrs := append([]gitserver.Entry{{Path: ".gitattributes", Content: "*.yaml text eol=crlf\n"}}, next...)
	repo.CommitEntries("main", attrs)
	third := fetch(t, c, source.GitRequest{URL: url, Revision: "main"})
	if sameFile(t, second.Dir, third.Dir, "apps/db/sts.yaml") {
		t.Errorf("a commit changing .gitattributes shares files with the one before")
	}
	if got := readTree(t, third.Dir)["apps/db/sts.yaml"]; got != "kind: StatefulSet\r\n" {
		t.Errorf("apps/db/sts.yaml = %q, want it written with the new attributes", got)
	}

	// The predecessor removed from the cache: the checkout is still whole.
	tiny := newClient(t, func(o *source.Options) { o.MaxCacheBytes = 1 })
	a := fetch(t, tiny, source.GitRequest{URL: url, Revision: "main"})
	a.Release()
	repo.CommitEntries("main", next)
	b := fetch(t, tiny, source.GitRequest{URL: url, Revision: "main"})
	want := fetch(t, newClient(t, nil), source.GitRequest{URL: url, Revision: "main"})
	if diff := cmp.Diff(readTree(t, want.Dir), readTree(t, b.Dir)); diff != "" {
		t.Errorf("checkout after its predecessor was removed (-want +got):\n%s", diff)
	}
}

// modes returns path → permission bits of the regular files below dir.
func modes(t *testing.T, dir string) map[string]os.FileMode {
	t.Helper()
	out := map[string]os.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFile says whether p is one inode in both trees.
func sameFile(t *testing.T, a, b, p string) bool {
	t.Helper()
	ia, err := os.Lstat(filepath.Join(a, p))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := os.Lstat(filepath.Join(b, p))
	if err != nil {
		t.Fatal(err)
	}
	return ia.Sys().(*syscall.Stat_t).Ino == ib.Sys().(*syscall.Stat_t).Ino
}
