package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// resolveShare lets the callers that resolve the same repository, revision
// and credentials within a short time share one ref listing (issue 13: a
// resync of 1,000 Applications of one branch ran 1,000 `git ls-remote`).
// The credentials are part of the key: a caller is answered only from a
// listing its own credentials made.
type resolveShare struct {
	ttl   time.Duration
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]sharedRevision
}

type sharedRevision struct {
	rev Revision
	at  time.Time
}

func newResolveShare(ttl time.Duration) *resolveShare {
	return &resolveShare{ttl: ttl, entries: map[string]sharedRevision{}}
}

// do answers from a listing made less than ttl ago, or joins the listing in
// flight, or lists with list. Failures are never shared after the fact.
//
// A listing older than half the ttl still answers, and a new one starts in
// the background: callers that keep coming (a thousand Applications syncing
// one after the other) find a listing ready and never wait for one, and
// none is answered from a listing older than ttl (issue 13).
//
// list must bring credentials of its own (not borrow the caller's, cleaned
// up when the caller returns): it serves every caller that joins it, and
// may run after the one that started it is gone.
func (s *resolveShare) do(ctx context.Context, p *prepared, list func(context.Context) (Revision, error)) (Revision, error) {
	key := shareKey(p)
	if !p.req.Fresh {
		s.mu.Lock()
		e, ok := s.entries[key]
		s.mu.Unlock()
		if age := time.Since(e.at); ok && age < s.ttl {
			if age >= s.ttl/2 {
				s.start(ctx, key, key, list)
			}
			return e.rev, nil
		}
	}
	flight := key
	if p.req.Fresh {
		// A fresh answer asked for just after a push must not join a
		// listing that started before it: fresh callers share only among
		// themselves.
		flight += "\x00fresh"
	}
	select {
	case r := <-s.start(ctx, flight, key, list):
		if r.Err != nil {
			return Revision{}, r.Err
		}
		return r.Val.(Revision), nil
	case <-ctx.Done():
		return Revision{}, ctx.Err()
	}
}

// start joins the listing in flight under flight, or starts one whose
// answer is remembered under key. The listing serves every caller that
// joined it: one that gives up early does not cut it short for the others
// (it is bounded by ResolveTimeout all the same).
func (s *resolveShare) start(ctx context.Context, flight, key string, list func(context.Context) (Revision, error)) <-chan singleflight.Result {
	started := time.Now()
	return s.group.DoChan(flight, func() (any, error) {
		rev, err := list(context.WithoutCancel(ctx))
		if err == nil {
			s.remember(key, rev, started)
		}
		return rev, err
	})
}

func (s *resolveShare) remember(key string, rev Revision, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		if time.Since(e.at) >= s.ttl {
			delete(s.entries, k)
		}
	}
	if e, ok := s.entries[key]; ok && e.at.After(at) {
		// A listing that started later answered first: keep its answer.
		return
	}
	s.entries[key] = sharedRevision{rev: rev, at: at}
}

// shareKey names a repository, revision and set of credentials, hashed so
// that no credential is held in the key.
func shareKey(p *prepared) string {
	h := sha256.New()
	write := func(b []byte) {
		var n [8]byte
		for i, l := 0, len(b); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:])
		h.Write(b)
	}
	write([]byte(p.remote.key))
	write([]byte(p.req.Revision))
	if c := p.req.Credentials; c != nil {
		write([]byte(c.Username))
		write([]byte(c.Password))
		write([]byte(c.BearerToken))
		write(c.SSHPrivateKey)
		write(c.KnownHosts)
		write(c.CACert)
	}
	return hex.EncodeToString(h.Sum(nil))
}
