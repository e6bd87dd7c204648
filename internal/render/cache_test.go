package render

import (
	"context"
	"errors"
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
	if diff := cmp.Diff(Stats{Renders: 1, Hits: 1, Entries: 1}, r.Stats()); diff != "" {
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
	if diff := cmp.Diff(Stats{Renders: 8, Hits: 1, Entries: 6}, r.Stats()); diff != "" {
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
	if diff := cmp.Diff(Stats{Renders: 4, Hits: 2, Evictions: 2, Entries: 2}, r.Stats()); diff != "" {
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
	c := newCache(4)
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
