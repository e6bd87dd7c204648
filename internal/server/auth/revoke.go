package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// maxRevoked bounds the sessions the ConfigMap remembers as revoked (a
// ConfigMap holds at most 1 MiB). Expired entries are pruned at each write;
// when it is still full, a logout fails rather than forgetting a revoked
// session.
const maxRevoked = 20000

// errRevocationsFull is a revocation refused because the list is full.
var errRevocationsFull = errors.New("too many revoked sessions are still valid")

// revocations is the list of revoked session ids, kept in the
// ConfigMap flotilla-sessions as id → expiry (Unix seconds) so that it
// survives a restart, and cached here.
type revocations struct {
	m   hubMap
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	ids  map[string]string
	read time.Time
}

// revoked reports whether id was revoked. The list is read again when
// older than the TTL; without any list read yet, a failed read is an error
// (the session is refused).
func (r *revocations) revoked(ctx context.Context, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil || r.now().Sub(r.read) >= r.ttl {
		ids, err := r.m.read(ctx)
		switch {
		case err == nil:
			r.ids, r.read = ids, r.now()
		case r.ids == nil:
			return false, err
		}
	}
	_, ok := r.ids[id]
	return ok, nil
}

// revoke adds id, valid until exp, to the list, pruning expired entries.
// It reports whether id was already revoked, so that a one-time code is
// used once even across servers.
func (r *revocations) revoke(ctx context.Context, id string, exp time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	already := false
	now := r.now().Unix()
	ids, err := r.m.update(ctx, func(d map[string]string) error {
		already = false
		for k, v := range d {
			if t, err := strconv.ParseInt(v, 10, 64); err != nil || t < now {
				delete(d, k)
			}
		}
		if _, ok := d[id]; ok {
			already = true
			return nil
		}
		if len(d) >= maxRevoked {
			return errRevocationsFull
		}
		d[id] = strconv.FormatInt(exp.Unix()+1, 10)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("revoke a session: %w", err)
	}
	r.ids, r.read = ids, r.now()
	return already, nil
}
