package source_test

import (
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// TestResolveShared shows that, with ResolveShare, callers of the same
// repository, revision and credentials share one ref listing, that Fresh
// lists anew, and that other credentials never get a listing made with
// someone else's.
func TestResolveShared(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "shared")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "u", Password: "p", TLS: true})
	first := repo.Commit("main", map[string]string{"a.yaml": "a: 1\n"})
	c := newClient(t, func(o *source.Options) { o.ResolveShare = time.Hour })
	creds := &source.Credentials{Username: "u", Password: "p", CACert: srv.CACert()}
	req := source.GitRequest{URL: srv.URL("shared"), Revision: "main", Credentials: creds}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if rev, err := c.Resolve(testContext(t), req); err != nil || rev.Commit != first {
				t.Errorf("Resolve = %v, %v; want %s", rev, err, first)
			}
		})
	}
	wg.Wait()
	if got := srv.Counts().LsRefs; got != 1 {
		t.Fatalf("10 callers made %d ref listings, want 1", got)
	}
	second := repo.Commit("main", map[string]string{"a.yaml": "a: 2\n"})
	if rev, _ := c.Resolve(testContext(t), req); rev.Commit != first {
		t.Fatalf("within the share, Resolve = %s, want the shared %s", rev.Commit, first)
	}
	req.Fresh = true
	if rev, err := c.Resolve(testContext(t), req); err != nil || rev.Commit != second {
		t.Fatalf("Fresh Resolve = %v, %v; want %s", rev, err, second)
	}
	if got := srv.Counts().LsRefs; got != 2 {
		t.Fatalf("after a Fresh resolve the server saw %d listings, want 2", got)
	}
	// The revision poller pins with Fresh: it sees a push at once, not the
	// listing shared moments ago.
	third := repo.Commit("main", map[string]string{"a.yaml": "a: 3\n"})
	pinned, err := c.Pin(testContext(t), source.Request{URL: req.URL, Revision: "main", Credentials: creds, Fresh: true})
	if err != nil || pinned != third {
		t.Fatalf("Fresh Pin = %s, %v; want %s", pinned, err, third)
	}
	// Wrong credentials are refused by a listing of their own.
	bad := source.GitRequest{URL: srv.URL("shared"), Revision: "main", Credentials: &source.Credentials{Username: "u", Password: "wrong", CACert: srv.CACert()}}
	if _, err := c.Resolve(testContext(t), bad); err == nil {
		t.Fatal("Resolve with wrong credentials answered from a listing made with the right ones")
	}
}
