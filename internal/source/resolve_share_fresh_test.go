package source

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestFreshResolveDoesNotJoinAnOlderListing: a fresh resolve (a webhook's,
// a user's refresh, the poller's) asked while a shared listing that began
// before a push is still running gets a listing of its own, and so the
// commit pushed; the shared listing's late answer does not replace the
// newer one.
func TestFreshResolveDoesNotJoinAnOlderListing(t *testing.T) {
	s := newResolveShare(time.Hour)
	p := &prepared{req: GitRequest{Revision: "main"}, remote: remote{raw: "https://git.example/repo"}}
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	started := make(chan struct{})
	old := func(context.Context) (Revision, error) {
		close(started)
		<-release
		return Revision{Commit: "old"}, nil
	}
	shared := make(chan Revision, 1)
	go func() {
		rev, _ := s.do(context.Background(), p, old)
		shared <- rev
	}()
	<-started

	fresh := &prepared{req: p.req, remote: p.remote}
	fresh.req.Fresh = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rev, err := s.do(ctx, fresh, func(context.Context) (Revision, error) {
		return Revision{Commit: "new"}, nil
	})
	if err != nil || rev.Commit != "new" {
		t.Fatalf("a fresh resolve during an older listing = %v, %v; want the new commit", rev, err)
	}
	unblock()
	if rev := <-shared; rev.Commit != "old" {
		t.Fatalf("the shared listing answered %q, want its own old", rev.Commit)
	}
	rev, err = s.do(context.Background(), p, func(context.Context) (Revision, error) {
		t.Error("listed again within the share")
		return Revision{}, nil
	})
	if err != nil || rev.Commit != "new" {
		t.Errorf("after both listings, the share answers %v, %v; want the newer listing's commit", rev, err)
	}
}
