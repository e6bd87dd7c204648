package source_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// TestResolve resolves every kind of revision against a real HTTP server,
// then moves a branch and resolves it again.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	c1 := repo.Commit("main", map[string]string{"app.yaml": "v: 1\n"})
	c2 := repo.Commit("main", map[string]string{"app.yaml": "v: 2\n"})
	c3 := repo.Commit("release", map[string]string{"app.yaml": "v: 3\n"})
	repo.Tag("v1.0.0", c1)
	repo.AnnotatedTag("v1.1.0", c2, "annotated")
	repo.AnnotatedTag("v1.4.2", c3, "annotated, highest 1.x")
	repo.Tag("v1.10.0-rc.1", c3)
	repo.Tag("v2.0.0", c2)
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	url := srv.URL("org/config.git")
	c := newClient(t, nil)

	tests := []struct {
		rev  string
		want source.Revision
	}{
		{"", source.Revision{Ref: "refs/heads/main", Commit: c2}},
		{"main", source.Revision{Ref: "refs/heads/main", Commit: c2}},
		{"release", source.Revision{Ref: "refs/heads/release", Commit: c3}},
		{"v1.0.0", source.Revision{Ref: "refs/tags/v1.0.0", Commit: c1}},
		{"v1.1.0", source.Revision{Ref: "refs/tags/v1.1.0", Commit: c2}},
		{">=1.0.0 <2.0.0", source.Revision{Ref: "refs/tags/v1.4.2", Commit: c3}},
		{"~1.1", source.Revision{Ref: "refs/tags/v1.1.0", Commit: c2}},
		{"1.x", source.Revision{Ref: "refs/tags/v1.4.2", Commit: c3}},
		{c1, source.Revision{Commit: c1}},
	}
	for _, tt := range tests {
		got, err := c.Resolve(testContext(t), source.GitRequest{URL: url, Revision: tt.rev})
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.rev, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tt.rev, diff)
		}
	}

	c4 := repo.Commit("main", map[string]string{"app.yaml": "v: 4\n"})
	got, err := c.Resolve(testContext(t), source.GitRequest{URL: url, Revision: "main"})
	if err != nil || got.Commit != c4 {
		t.Errorf("after a new commit, Resolve(main) = %v, %v; want %s", got, err, c4)
	}
}

// TestFetch checks what a checkout holds: the commit's files and links,
// no .git, no write permission, and older commits fetched by SHA.
func TestFetch(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	sub := gitserver.NewRepo(t, root, "org/sub.git")
	subCommit := sub.Commit("main", map[string]string{"s": "sub"})
	old := repo.Commit("main", map[string]string{"a.yaml": "old\n"})
	head := repo.CommitEntries("main", []gitserver.Entry{
		{Path: "apps/web/deploy.yaml", Content: "kind: Deployment\n"},
		{Path: "run.sh", Content: "#!/bin/sh\n", Mode: gitserver.ModeExecutable},
		{Path: "link", Content: "apps/web/deploy.yaml", Mode: gitserver.ModeSymlink},
		{Path: ".gitmodules", Content: "[submodule \"sub\"]\n\tpath = sub\n\turl = ../sub.git\n"},
		{Path: "sub", Content: subCommit, Mode: gitserver.ModeSubmodule},
	})
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	c := newClient(t, nil)

	art := fetch(t, c, source.GitRequest{URL: srv.URL("org/config.git"), Revision: "main"})
	want := map[string]string{
		"apps/web/deploy.yaml": "kind: Deployment\n",
		"run.sh":               "#!/bin/sh\n",
		"link":                 "-> apps/web/deploy.yaml",
		".gitmodules":          "[submodule \"sub\"]\n\tpath = sub\n\turl = ../sub.git\n",
	}
	if diff := cmp.Diff(want, readTree(t, art.Dir)); diff != "" {
		t.Errorf("checkout of main (-want +got):\n%s", diff)
	}
	if art.Commit != head || art.Ref != "refs/heads/main" || art.Revision != "main" || art.URL != srv.URL("org/config.git") {
		t.Errorf("artifact = %+v", art)
	}
	for _, name := range []string{"run.sh", "apps/web/deploy.yaml"} {
		fi, err := os.Stat(filepath.Join(art.Dir, name))
		if err != nil || fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s: mode %v, %v; want no write permission", name, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(art.Dir, "run.sh")); fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh lost its executable bit: %v", fi.Mode())
	}

	// An older commit, no longer the tip of any ref, by its SHA.
	oldArt := fetch(t, c, source.GitRequest{URL: srv.URL("org/config.git"), Revision: old})
	if diff := cmp.Diff(map[string]string{"a.yaml": "old\n"}, readTree(t, oldArt.Dir)); diff != "" {
		t.Errorf("checkout of %s (-want +got):\n%s", old, diff)
	}
	if sub := srv.Counts(); sub.Fetches != 2 {
		t.Errorf("server saw %d fetches, want 2 (no submodule fetch)", sub.Fetches)
	}
}

// TestRevisionErrors covers the failures a controller turns into
// conditions.
func TestRevisionErrors(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	sha := repo.Commit("main", map[string]string{"f": "1"})
	repo.Commit("feature", map[string]string{"f": "2"})
	repo.Tag("v1.0.0", sha)
	repo.DeleteBranch("feature")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	c := newClient(t, nil)

	tests := []struct {
		name, url, rev string
		want           error
	}{
		{"deleted branch", srv.URL("org/config.git"), "feature", source.ErrRevisionNotFound},
		{"missing tag", srv.URL("org/config.git"), "v9.9.9", source.ErrRevisionNotFound},
		{"no semver match", srv.URL("org/config.git"), ">=2.0.0", source.ErrRevisionNotFound},
		{"bad semver range", srv.URL("org/config.git"), ">= <<1", source.ErrInvalidRevision},
		{"commit not in repo", srv.URL("org/config.git"), strings.Repeat("0", 39) + "1", source.ErrRevisionNotFound},
		{"no repository", srv.URL("org/nope.git"), "main", source.ErrRepositoryNotFound},
		{"closed port", "http://" + closedAddr(t) + "/org/config.git", "main", source.ErrUnreachable},
		{"control character", srv.URL("org/config.git"), "main\x1b[2J", source.ErrInvalidRevision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Fetch(testContext(t), source.GitRequest{URL: tt.url, Revision: tt.rev})
			wantError(t, err, tt.want)
			if !strings.Contains(err.Error(), "org/") {
				t.Errorf("error %q does not name the repository", err)
			}
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTimeoutAndCancel(t *testing.T) {
	slow := stalledServer(t, false)
	c := newClient(t, func(o *source.Options) { o.ResolveTimeout = time.Second })

	start := time.Now()
	_, err := c.Resolve(testContext(t), source.GitRequest{URL: slow.URL + "/r.git"})
	wantError(t, err, source.ErrTimeout)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("a 1s time limit took %s", d)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = newClient(t, nil).Fetch(ctx, source.GitRequest{URL: slow.URL + "/r.git"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch with an ending context = %v, want context.DeadlineExceeded", err)
	}
}

func TestLimits(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "big.git")
	// Random bytes do not compress: the pack is as large as the file.
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(i*7919 ^ i>>3 ^ i*i>>11)
	}
	repo.Commit("main", map[string]string{"big.bin": string(big)})
	for i := range 200 {
		repo.Tag(fmt.Sprintf("tag-%03d-%s", i, strings.Repeat("x", 40)), repo.Head("main"))
	}
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})

	c := newClient(t, func(o *source.Options) { o.MaxCheckoutBytes = 64 << 10 })
	_, err := c.Fetch(testContext(t), source.GitRequest{URL: srv.URL("big.git")})
	wantError(t, err, source.ErrTooLarge)

	c = newClient(t, func(o *source.Options) { o.MaxRefsBytes = 4 << 10 })
	_, err = c.Resolve(testContext(t), source.GitRequest{URL: srv.URL("big.git")})
	wantError(t, err, source.ErrTooLarge)
}

func TestLocalRepositories(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "local.git")
	sha := repo.Commit("main", map[string]string{"f": "local"})
	url := "file://" + filepath.ToSlash(repo.Dir)

	_, err := newClient(t, nil).Fetch(testContext(t), source.GitRequest{URL: url})
	wantError(t, err, source.ErrInvalidURL)

	c := newClient(t, func(o *source.Options) { o.AllowLocal = true })
	art := fetch(t, c, source.GitRequest{URL: url})
	if art.Commit != sha || readTree(t, art.Dir)["f"] != "local" {
		t.Errorf("local fetch = %+v", art)
	}
	// AllowLocal allows file:// alone, not bare paths.
	_, err = c.Resolve(testContext(t), source.GitRequest{URL: repo.Dir})
	wantError(t, err, source.ErrInvalidURL)
}

// TestHostileURLsNeverRunGit checks that refused URLs fail before any
// process runs: a URL that would make git create a file leaves none.
func TestHostileURLsNeverRunGit(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	c := newClient(t, func(o *source.Options) { o.AllowLocal = true })
	for _, url := range []string{
		"ext::sh -c touch% " + marker,
		"ext::sh%20-c%20touch%20" + marker,
		"--upload-pack=touch " + marker,
		"-u touch " + marker,
		"ssh://-oProxyCommand=touch%20" + marker + "/r",
		"git@-oProxyCommand=touch:" + marker,
		"fd::0",
		"https://host/r\n--upload-pack=touch " + marker,
	} {
		_, err := c.Fetch(testContext(t), source.GitRequest{URL: url})
		wantError(t, err, source.ErrInvalidURL)
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error for %q spans lines: %q", url, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a hostile URL ran a command")
	}
}

// TestRedirectNotFollowed: a server that redirects elsewhere never gets the
// credentials through, and its target never sees a request.
func TestRedirectNotFollowed(t *testing.T) {
	root := t.TempDir()
	gitserver.NewRepo(t, root, "r.git").Commit("main", map[string]string{"f": "1"})
	target := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, BearerToken: canary, TLS: true})
	redirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL("r.git")+strings.TrimPrefix(r.URL.RequestURI(), "/r.git"), http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	ca := append(target.CACert(), redirectorCA(redirector)...)

	c := newClient(t, nil)
	_, err := c.Fetch(testContext(t), source.GitRequest{
		URL:         redirector.URL + "/r.git",
		Credentials: &source.Credentials{BearerToken: canary, CACert: ca},
	})
	if err == nil {
		t.Fatal("Fetch through a redirect succeeded")
	}
	noSecrets(t, err.Error())
	t.Logf("as expected: %v", err)
	if n := target.Counts().Requests; n != 0 {
		t.Errorf("the redirect target saw %d requests, want 0", n)
	}
}

// TestIgnoresEnclosingRepository: a cache folder inside some git work tree
// must not let that repository's configuration steer git (here, an
// insteadOf rule that would send every request to a closed port).
func TestIgnoresEnclosingRepository(t *testing.T) {
	root := t.TempDir()
	sha := gitserver.NewRepo(t, root, "r.git").Commit("main", map[string]string{"f": "1"})
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	work := t.TempDir()
	for _, args := range [][]string{
		{"init", "--quiet", work},
		{"-C", work, "config", "url.http://" + closedAddr(t) + "/.insteadOf", srv.URL("")},
	} {
		cmd := exec.Command("git", args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "GIT_CONFIG_NOSYSTEM=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	c := newClient(t, func(o *source.Options) { o.CacheDir = filepath.Join(work, "cache") })
	rev, err := c.Resolve(testContext(t), source.GitRequest{URL: srv.URL("r.git")})
	if err != nil || rev.Commit != sha {
		t.Fatalf("Resolve = %v, %v; want %s", rev, err, sha)
	}
}

// TestCommit reads the author and message of a commit from a real server,
// and of the same commit again from the cache.
func TestCommit(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	c1 := repo.Commit("main", map[string]string{"app.yaml": "v: 1\n"})
	repo.Commit("main", map[string]string{"app.yaml": "v: 2\n"})
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	c := newClient(t, nil)
	want := source.CommitInfo{Author: "Flotilla Test <test@flotilla.invalid>", Message: "commit 1"}
	for range 2 {
		got, err := c.Commit(testContext(t), source.GitRequest{URL: srv.URL("org/config.git"), Revision: c1})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Commit (-want +got):\n%s", diff)
		}
	}
	if got, err := c.Commit(testContext(t), source.GitRequest{URL: srv.URL("org/config.git"), Revision: "main"}); err != nil || got.Message != "commit 2" {
		t.Errorf("Commit(main) = %+v, %v; want commit 2", got, err)
	}
}
