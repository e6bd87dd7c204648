package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limiter counts failed logins per user and per client address in the
// ConfigMap flotilla-login-failures, so that the counts hold across
// restarts and across servers. Each entry is "COUNT START": the failures
// since START (Unix seconds), forgotten when the window has passed.
//
// An attempt is counted before its password is checked (and the count
// given back on success), under a mutex and an optimistic write, so that
// parallel attempts cannot all pass the check before any is counted.
type limiter struct {
	m      hubMap
	limits LoginLimits
	now    func() time.Time
	mu     sync.Mutex
}

type failures struct {
	count int
	start int64
}

func parseFailures(s string) (failures, bool) {
	c, st, ok := strings.Cut(s, " ")
	n, err1 := strconv.Atoi(c)
	t, err2 := strconv.ParseInt(st, 10, 64)
	return failures{count: n, start: t}, ok && err1 == nil && err2 == nil
}

func (f failures) String() string {
	return strconv.Itoa(f.count) + " " + strconv.FormatInt(f.start, 10)
}

// limitKey names a user or an address by a hash: a ConfigMap key allows
// few characters, and the names need not be readable.
func limitKey(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + name))
	return kind + "." + hex.EncodeToString(sum[:16])
}

// reserve counts one attempt for user and addr, or refuses it with a
// *RateLimitError when either has failed too often in the window.
func (l *limiter) reserve(ctx context.Context, user, addr string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now().Unix()
	window := int64(l.limits.Window / time.Second)
	uk, ak := limitKey("u", user), limitKey("a", addr)
	_, err := l.m.update(ctx, func(d map[string]string) error {
		l.prune(d, now, window)
		for _, k := range []struct {
			key string
			max int
		}{{uk, l.limits.PerUser}, {ak, l.limits.PerAddress}} {
			if f, ok := parseFailures(d[k.key]); ok && f.count >= k.max {
				return &RateLimitError{RetryAfter: time.Duration(f.start+window-now) * time.Second}
			}
		}
		for _, k := range []string{uk, ak} {
			f, ok := parseFailures(d[k])
			if !ok {
				f = failures{start: now}
			}
			f.count++
			d[k] = f.String()
		}
		return nil
	})
	if rl := (*RateLimitError)(nil); errors.As(err, &rl) {
		return rl
	}
	if err != nil {
		return fmt.Errorf("count a login attempt: %w", err)
	}
	return nil
}

// succeeded gives back a successful attempt: the user's failures are
// cleared, the address's count loses this attempt.
func (l *limiter) succeeded(ctx context.Context, user, addr string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	uk, ak := limitKey("u", user), limitKey("a", addr)
	_, err := l.m.update(ctx, func(d map[string]string) error {
		delete(d, uk)
		if f, ok := parseFailures(d[ak]); ok && f.count > 1 {
			f.count--
			d[ak] = f.String()
		} else {
			delete(d, ak)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear failed logins: %w", err)
	}
	return nil
}

// prune forgets entries whose window has passed, and the oldest entries
// beyond MaxEntries.
func (l *limiter) prune(d map[string]string, now, window int64) {
	type aged struct {
		key   string
		start int64
	}
	var all []aged
	for k, v := range d {
		f, ok := parseFailures(v)
		if !ok || f.start+window <= now {
			delete(d, k)
			continue
		}
		all = append(all, aged{k, f.start})
	}
	if len(all) < l.limits.MaxEntries {
		return
	}
	slices.SortFunc(all, func(a, b aged) int { return int(a.start - b.start) })
	for _, a := range all[:len(all)-l.limits.MaxEntries+2] {
		delete(d, a.key)
	}
}

// clientAddress is the address of the connection's peer, without its
// port. Forwarded headers are not trusted: they are the client's to set.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
