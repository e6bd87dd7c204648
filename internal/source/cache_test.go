package source_test

import (
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// TestConcurrentFetchesShareOne: ten callers asking for the same commit at
// once cause one fetch on the server and share one checkout.
func TestConcurrentFetchesShareOne(t *testing.T) {
	root := t.TempDir()
	sha := gitserver.NewRepo(t, root, "r.git").Commit("main", map[string]string{"f": strings.Repeat("x", 1<<20)})
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	c := newClient(t, nil)

	const callers = 10
	arts := make([]*source.Artifact, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			arts[i], errs[i] = c.Fetch(testContext(t), source.GitRequest{URL: srv.URL("r.git"), Revision: "main"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		defer arts[i].Release()
		if arts[i].Dir != arts[0].Dir || arts[i].Commit != sha {
			t.Errorf("caller %d got %s at %s, caller 0 %s at %s", i, arts[i].Commit, arts[i].Dir, arts[0].Commit, arts[0].Dir)
		}
	}
	counts := srv.Counts()
	if counts.Fetches != 1 {
		t.Errorf("server saw %d fetches, want 1", counts.Fetches)
	}
	if counts.LsRefs != callers {
		t.Errorf("server saw %d ref listings, want %d (each caller's access is checked)", counts.LsRefs, callers)
	}
	if st := c.CacheStats(); st.Checkouts != 1 || st.InUse != 1 {
		t.Errorf("cache stats = %+v, want one checkout in use", st)
	}
}

// TestCacheEviction: past the byte bound the least recently used checkout
// that nobody holds goes; one in use never does.
func TestCacheEviction(t *testing.T) {
	const fileSize = 10 << 10
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "r.git")
	var commits []string
	for i := range 5 {
		content := strings.Repeat(string(rune('a'+i)), fileSize)
		commits = append(commits, repo.Commit("main", map[string]string{"f": content}))
	}
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	// Room for two checkouts and a half.
	c := newClient(t, func(o *source.Options) { o.MaxCacheBytes = 2*fileSize + fileSize/2 })
	get := func(i int) *source.Artifact {
		t.Helper()
		art, err := c.Fetch(testContext(t), source.GitRequest{URL: srv.URL("r.git"), Revision: commits[i]})
		if err != nil {
			t.Fatalf("fetch commit %d: %v", i, err)
		}
		return art
	}
	exists := func(art *source.Artifact) bool {
		_, err := os.Stat(art.Dir)
		return err == nil
	}

	a := get(0)
	a.Release()
	b := get(1) // held
	cc := get(2)
	cc.Release()
	// a, b, c = 30 KiB > 25 KiB: a, the least recently used, goes.
	if exists(a) || !exists(b) || !exists(cc) {
		t.Fatalf("after a, b, c: a=%v b=%v c=%v, want only a evicted", exists(a), exists(b), exists(cc))
	}
	d := get(3) // held
	// b is older than c but in use: c goes.
	if !exists(b) || exists(cc) || !exists(d) {
		t.Fatalf("after d: b=%v c=%v d=%v, want only c evicted", exists(b), exists(cc), exists(d))
	}
	e := get(4) // held: all three in use, the cache passes its bound
	if !exists(b) || !exists(d) || !exists(e) {
		t.Fatalf("checkouts in use were evicted: b=%v d=%v e=%v", exists(b), exists(d), exists(e))
	}
	if st := c.CacheStats(); st.Checkouts != 3 || st.InUse != 3 || st.Bytes != 3*fileSize {
		t.Errorf("cache stats = %+v, want 3 checkouts in use, %d bytes", st, 3*fileSize)
	}
	b.Release()
	if exists(b) || !exists(d) || !exists(e) {
		t.Fatalf("after releasing b: b=%v d=%v e=%v, want b evicted", exists(b), exists(d), exists(e))
	}
	d.Release()
	e.Release()
	e.Release() // twice is harmless

	fetchesBefore := srv.Counts().Fetches
	again := get(4) // still cached
	defer again.Release()
	if got := srv.Counts().Fetches - fetchesBefore; got != 0 {
		t.Errorf("a cached commit was fetched again (%d fetches)", got)
	}
	a = get(0) // evicted long ago: fetched again
	defer a.Release()
	if got := srv.Counts().Fetches - fetchesBefore; got != 1 {
		t.Errorf("an evicted commit made %d fetches, want 1", got)
	}
}
