package source

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Bounds of the index cache.
const (
	// helmIndexTTL is how long a parsed index is reused. Short: a new chart
	// version is seen within it, yet a hundred Applications reconciling
	// together on one repository read its index once.
	helmIndexTTL = 30 * time.Second
	// maxCachedIndexes bounds the indexes kept; past it the oldest go.
	maxCachedIndexes = 64
)

// indexCache keeps parsed indexes for helmIndexTTL, one per repository and
// credentials: an index read with some credentials is never handed to a
// caller with others (or none), so every caller's credentials are checked
// by the server at least once per TTL. Callers asking for the same key at
// the same time share one download.
type indexCache struct {
	// secret keys the HMAC that turns credentials into a cache key, so the
	// keys held in memory do not help to guess a password.
	secret []byte
	ttl    time.Duration

	mu      sync.Mutex
	entries map[string]*indexEntry
}

// indexEntry is one index, being read while done is open.
type indexEntry struct {
	done    chan struct{}
	idx     *helmIndex
	err     error
	fetched time.Time
}

func newIndexCache() *indexCache {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails on supported platforms
	return &indexCache{secret: secret, ttl: helmIndexTTL, entries: map[string]*indexEntry{}}
}

// key names a repository read with some credentials.
func (ic *indexCache) key(repoKey string, creds *Credentials) string {
	m := hmac.New(sha256.New, ic.secret)
	m.Write([]byte(repoKey))
	if creds != nil {
		for _, f := range [][]byte{[]byte(creds.Username), []byte(creds.Password), []byte(creds.BearerToken), creds.CACert} {
			// Lengths first, so that fields cannot run into each other.
			m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(f))))
			m.Write(f)
		}
	}
	return hex.EncodeToString(m.Sum(nil))
}

// get returns the index of key, read by read when it is not cached or is
// older than the TTL. Failures are not cached. If the caller reading an
// index gives up, one of those waiting for it reads it anew.
func (ic *indexCache) get(ctx context.Context, key string, read func(context.Context) (*helmIndex, error)) (*helmIndex, error) {
	for {
		e, leader := ic.entry(key)
		if leader {
			idx, err := read(ctx)
			ic.mu.Lock()
			e.idx, e.err, e.fetched = idx, err, time.Now()
			if err != nil && ic.entries[key] == e {
				delete(ic.entries, key)
			}
			ic.mu.Unlock()
			close(e.done)
			return idx, err
		}
		select {
		case <-e.done:
			var ended *Error
			if errors.As(e.err, &ended) && (errors.Is(ended.Kind, context.Canceled) || errors.Is(ended.Kind, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue // the reader gave up, not us
			}
			return e.idx, e.err
		case <-ctx.Done():
			return nil, ctxError(ctx)
		}
	}
}

// entry returns the entry of key, and whether the caller must fill it.
func (ic *indexCache) entry(key string) (*indexEntry, bool) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	now := time.Now()
	for k, e := range ic.entries {
		if isDone(e) && now.Sub(e.fetched) >= ic.ttl {
			delete(ic.entries, k)
		}
	}
	if e := ic.entries[key]; e != nil {
		return e, false
	}
	if len(ic.entries) >= maxCachedIndexes {
		ic.dropOldestLocked()
	}
	e := &indexEntry{done: make(chan struct{})}
	ic.entries[key] = e
	return e, true
}

// dropOldestLocked forgets the index read longest ago; entries being read
// stay, their readers hold them anyway.
func (ic *indexCache) dropOldestLocked() {
	var oldest string
	var at time.Time
	for k, e := range ic.entries {
		if isDone(e) && (oldest == "" || e.fetched.Before(at)) {
			oldest, at = k, e.fetched
		}
	}
	if oldest != "" {
		delete(ic.entries, oldest)
	}
}

// expire forgets every index, so the next caller reads it anew.
func (ic *indexCache) expire() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	for k, e := range ic.entries {
		if isDone(e) {
			delete(ic.entries, k)
		}
	}
}

func isDone(e *indexEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// helmIndexCache returns the Client's index cache.
func (c *Client) helmIndexCache() *indexCache { return c.indexes }
