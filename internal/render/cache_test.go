package render

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCacheServesSecondRender(t *testing.T) {
	r := New(DefaultOptions())
	ctx := context.Background()
	req := Request{Root: repo, Path: "kustomize/overlays/prod", Revision: "abc123"}
	first, err := r.Render(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Render(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stats{Renders: 1, Hits: 1, Entries: 1}, countsOf(r)); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(first.Objects, second.Objects); diff != "" {
		t.Errorf("cached result differs:\n%s", diff)
	}
}

func TestCacheKeyedByInputs(t *testing.T) {
	r := New(DefaultOptions())
	ctx := context.Background()
	base := Request{Root: repo, Path: "plain", Revision: "abc123"}
	variants := []Request{
		base,
		{Root: repo, Path: "plain/", Revision: "abc123"}, // the same path, cleaned: a hit
		{Root: repo, Path: "plain", Revision: "def456"},
		{Root: repo, Path: "plain/workloads", Revision: "abc123"},
		{Root: repo, Path: "plain", Revision: "abc123", Kustomize: KustomizeOptions{NamePrefix: "x-"}},
		{Root: repo, Path: "plain", Revision: "abc123", Kustomize: KustomizeOptions{NamePrefix: "y-"}},
		{Root: repo, Path: "plain", Revision: "abc123", Kustomize: KustomizeOptions{Images: []Image{{Name: "nginx", NewTag: "2"}}}},
		{Root: repo, Path: "plain"}, // no revision: never cached
		{Root: repo, Path: "plain"},
	}
	for _, req := range variants {
		if _, err := r.Render(ctx, req); err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	if diff := cmp.Diff(Stats{Renders: 8, Hits: 1, Entries: 6}, countsOf(r)); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	// The name prefix really applied: the cache did not mix the variants up.
	res, err := r.Render(ctx, variants[5])
	if err != nil || res.Objects[1].GetName() != "y-job-a" {
		t.Fatalf("got %v, %v", res.Objects[1].GetName(), err)
	}
}

func TestCacheResultsAreCopies(t *testing.T) {
	r := New(DefaultOptions())
	ctx := context.Background()
	req := Request{Root: repo, Path: "plain", Revision: "abc123"}
	first, err := r.Render(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := resultYAML(t, first)
	// Change everything a careless caller might.
	for _, u := range first.Objects {
		u.SetName("changed")
		u.SetLabels(map[string]string{"changed": "yes"})
		if spec, ok := u.Object["spec"].(map[string]any); ok {
			spec["replicas"] = int64(99)
		}
	}
	first.Objects = first.Objects[:1]
	for range 2 {
		again, err := r.Render(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(resultYAML(t, again))); diff != "" {
			t.Fatalf("a changed result leaked into the cache:\n%s", diff)
		}
		again.Objects[0].SetName("changed-again")
	}
}

func TestCacheConcurrentRendersOnce(t *testing.T) {
	r := New(DefaultOptions())
	req := Request{Root: repo, Path: "kustomize/overlays/prod", Revision: "abc123"}
	const n = 32
	var wg sync.WaitGroup
	results := make([]*Result, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = r.Render(context.Background(), req)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if i > 0 && results[i].Objects[0] == results[0].Objects[0] {
			t.Fatal("two callers share an object")
		}
	}
	s := r.Stats()
	if s.Renders != 1 || s.Hits+s.Shared != n-1 {
		t.Errorf("stats %+v: want one render, the rest hits or shared", s)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	r := New(Options{CacheEntries: 2})
	ctx := context.Background()
	render := func(rev string) {
		t.Helper()
		if _, err := r.Render(ctx, Request{Root: repo, Path: "plain", Revision: rev}); err != nil {
			t.Fatal(err)
		}
	}
	render("a")
	render("b")
	render("a") // a is now the most recently used
	render("c") // evicts b
	render("a") // still cached
	render("b") // rendered again
	if diff := cmp.Diff(Stats{Renders: 4, Hits: 2, Evictions: 2, Entries: 2}, countsOf(r)); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestCacheKeepsNoErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/cm.yaml", "kind: [")
	r := New(DefaultOptions())
	req := Request{Root: dir, Path: "app", Revision: "abc"}
	for range 2 {
		if _, err := r.Render(context.Background(), req); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v", err)
		}
	}
	if s := r.Stats(); s.Renders != 2 || s.Entries != 0 {
		t.Errorf("stats %+v: errors must not be cached", s)
	}
}

// A caller that gives up does not end the render for the others, and the
// last one to give up ends it.
func TestCacheWaitersCancel(t *testing.T) {
	c := newCache(4, 1<<20)
	release := make(chan struct{})
	renderCtx := make(chan context.Context, 1)
	fn := func(ctx context.Context) (*Result, error) {
		renderCtx <- ctx
		select {
		case <-release:
			return &Result{Kind: KindPlain}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() { _, err := c.get(ctx1, "k", fn); done1 <- err }()
	rctx := <-renderCtx
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { _, err := c.get(ctx2, "k", fn); done2 <- err }()
	waitFor(t, func() bool { return c.snapshot().Shared == 1 })

	cancel1()
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v", err)
	}
	if rctx.Err() != nil {
		t.Fatal("the render stopped while a caller still waits")
	}
	cancel2()
	if err := <-done2; !errors.Is(err, context.Canceled) {
		t.Fatalf("second caller: %v", err)
	}
	waitFor(t, func() bool { return rctx.Err() != nil })
	close(release)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// countsOf returns the cache's counters without its byte estimate, which
// the tests of its other counters leave alone.
func countsOf(r *Renderer) Stats {
	s := r.Stats()
	s.Bytes = 0
	return s
}

// denseRepo writes a folder holding one ConfigMap with a list of n short
// values: a render whose decoded objects are large for their file.
func denseRepo(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dense}\nlist: ["+strings.Repeat("a,", n)+"a]\n")
	return dir
}

// The cache is bounded by the bytes its results hold, not only by their
// number: a result is dropped to make room, and one larger than the whole
// cache is not kept at all.
func TestCacheEvictsByBytes(t *testing.T) {
	dir := denseRepo(t, 20000) // about 650 KB decoded
	ctx := context.Background()
	one, err := New(Options{CacheBytes: 1 << 30}).Render(ctx, Request{Root: dir, Path: "app"})
	if err != nil {
		t.Fatal(err)
	}
	size := resultSize(one)
	t.Logf("one result: %s estimated", sizeText(size))

	r := New(Options{CacheEntries: 100, CacheBytes: size + size/2})
	render := func(rev string) {
		t.Helper()
		if _, err := r.Render(ctx, Request{Root: dir, Path: "app", Revision: rev}); err != nil {
			t.Fatal(err)
		}
	}
	render("a")
	render("b") // a goes: both do not fit
	render("b")
	render("a") // rendered again
	want := Stats{Renders: 3, Hits: 1, Evictions: 2, Entries: 1, Bytes: size}
	if diff := cmp.Diff(want, r.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	small := New(Options{CacheEntries: 100, CacheBytes: size / 2})
	if _, err := small.Render(ctx, Request{Root: dir, Path: "app", Revision: "a"}); err != nil {
		t.Fatal(err)
	}
	if s := small.Stats(); s.Entries != 0 || s.Bytes != 0 || s.Evictions != 1 {
		t.Errorf("stats %+v: a result larger than the cache must not be kept", s)
	}
}

// The byte estimate follows what decoded objects really take on the heap,
// within a factor of two, for dense and for ordinary manifests.
func TestResultSizeFollowsHeap(t *testing.T) {
	var ordinary strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&ordinary, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-%d\n  labels: {app: web, tier: frontend}\n"+
			"spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"+
			"        ports: [{containerPort: 80, protocol: TCP}]\n        env: [{name: MODE, value: production}]\n", i)
	}
	cases := map[string]string{
		"dense":    denseRepo(t, 200000),
		"ordinary": t.TempDir(),
	}
	write(t, cases["ordinary"], "app/deploy.yaml", ordinary.String())
	for name, dir := range cases {
		r := New(Options{CacheEntries: -1})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := r.Render(context.Background(), Request{Root: dir, Path: "app"})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		est := resultSize(res)
		runtime.KeepAlive(res)
		t.Logf("%s: %d objects hold %s on the heap, estimated %s", name, len(res.Objects), sizeText(held), sizeText(est))
		if est < held/2 || est > held*2 {
			t.Errorf("%s: estimate %d bytes, heap %d bytes", name, est, held)
		}
	}
}
