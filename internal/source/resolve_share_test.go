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

// TestResolveShareRenewsAhead shows that a shared listing past half its
// time still answers at once while a new listing starts in the background,
// so that the callers that keep coming never wait for one, and that the
// next caller gets the new listing's commit.
func TestResolveShareRenewsAhead(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "renew")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", map[string]string{"a.yaml": "a: 1\n"})
	const share = 4 * time.Second
	c := newClient(t, func(o *source.Options) { o.ResolveShare = share })
	req := source.GitRequest{URL: srv.URL("renew"), Revision: "main"}
	if rev, err := c.Resolve(testContext(t), req); err != nil || rev.Commit != first {
		t.Fatalf("Resolve = %v, %v; want %s", rev, err, first)
	}
	second := repo.Commit("main", map[string]string{"a.yaml": "a: 2\n"})
	time.Sleep(share/2 + 200*time.Millisecond)
	if rev, err := c.Resolve(testContext(t), req); err != nil || rev.Commit != first {
		t.Fatalf("past half the share, Resolve = %v, %v; want the shared %s at once", rev, err, first)
	}
	deadline := time.Now().Add(time.Minute)
	for srv.Counts().LsRefs < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no listing started in the background past half the share")
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		rev, err := c.Resolve(testContext(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if rev.Commit == second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Resolve still answers %s after the background listing, want %s", rev.Commit, second)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := srv.Counts().LsRefs; got != 2 {
		t.Fatalf("the server saw %d listings, want 2: the first and the one in the background", got)
	}
}
