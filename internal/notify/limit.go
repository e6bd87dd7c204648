package notify

import (
	"sync"
	"time"
)

// limiter keeps a flapping Application from flooding a channel: per
// Notification, the same event (Event.key) passes once per window, and at
// most burst events pass at once, refilled at rate per second.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	rate   float64
	burst  float64
	// seen is when each (route, event key) last passed.
	seen    map[string]time.Time
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxSeen bounds how many event keys the limiter remembers: past it,
// expired keys are dropped, and if none has expired the oldest half goes.
const maxSeen = 10000

// Why an event did not pass the limiter.
const (
	verdictPass      = ""
	verdictDuplicate = "duplicate"
	verdictRate      = "rate limited"
)

func newLimiter(window time.Duration, perMinute, burst int, now func() time.Time) *limiter {
	return &limiter{
		window: window, rate: float64(perMinute) / 60, burst: float64(burst),
		seen: map[string]time.Time{}, buckets: map[string]*bucket{}, now: now,
	}
}

// allow says whether the event key may be sent through route now, and if
// so counts it.
func (l *limiter) allow(route, key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := route + "\x00" + key
	if at, ok := l.seen[k]; ok && now.Sub(at) < l.window {
		return verdictDuplicate
	}
	b := l.buckets[route]
	if b == nil {
		l.dropFullBuckets(now)
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[route] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return verdictRate
	}
	b.tokens--
	l.remember(k, now)
	return verdictPass
}

func (l *limiter) remember(k string, now time.Time) {
	if len(l.seen) >= maxSeen {
		var oldest []time.Time
		for key, at := range l.seen {
			if now.Sub(at) >= l.window {
				delete(l.seen, key)
			} else {
				oldest = append(oldest, at)
			}
		}
		if len(l.seen) >= maxSeen {
			cutoff := median(oldest)
			for key, at := range l.seen {
				if !at.After(cutoff) {
					delete(l.seen, key)
				}
			}
		}
	}
	l.seen[k] = now
}

// median is a time no earlier than half of ts (not sorted: a rough cut is
// enough to make room).
func median(ts []time.Time) time.Time {
	if len(ts) == 0 {
		return time.Time{}
	}
	lo, hi := ts[0], ts[0]
	for _, t := range ts {
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	return lo.Add(hi.Sub(lo) / 2)
}

// maxBuckets bounds the buckets kept; past it, those refilled to the brim
// (a Notification quiet for a while, or deleted) are dropped: a new bucket
// starts full, so nothing changes for them.
const maxBuckets = 1000

func (l *limiter) dropFullBuckets(now time.Time) {
	if len(l.buckets) < maxBuckets {
		return
	}
	for route, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, route)
		}
	}
}
