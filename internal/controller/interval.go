package controller

import (
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// The bounds of an Application's resync interval and retry backoff. The CRD
// refuses values outside them; the controller clamps them again for objects
// stored before the CRD said so, since `interval: 1ns` is a tight loop of
// resolves and dry-runs and a huge retry factor overflowed the backoff into a
// negative wait that never retried (issue 10).
const (
	minInterval     = time.Second
	maxInterval     = 24 * time.Hour
	defaultInterval = 10 * time.Minute
	maxFactor       = 10
)

// syncInterval is the policy's resync interval, 10m when unset, within
// [1s, 24h].
func syncInterval(sp flotillav1.SyncPolicy) time.Duration {
	if sp.Interval == nil || sp.Interval.Duration <= 0 {
		return defaultInterval
	}
	return min(max(sp.Interval.Duration, minInterval), maxInterval)
}

// backoff is Duration × Factor^retry, at most MaxDuration (5s, 2, 3m by
// default), computed without overflow: it stops multiplying once it reaches
// MaxDuration.
func backoff(rp *flotillav1.RetryPolicy, retry int32) time.Duration {
	d, factor, maxD := 5*time.Second, time.Duration(2), 3*time.Minute
	if rp != nil && rp.Backoff != nil {
		b := rp.Backoff
		if b.Duration != nil && b.Duration.Duration > 0 {
			d = min(b.Duration.Duration, maxInterval)
		}
		if b.Factor != nil && *b.Factor > 0 {
			factor = time.Duration(min(*b.Factor, maxFactor))
		}
		if b.MaxDuration != nil && b.MaxDuration.Duration > 0 {
			maxD = min(b.MaxDuration.Duration, maxInterval)
		}
	}
	d = max(d, minInterval)
	for i := int32(0); i < retry && d < maxD; i++ {
		if d > maxD/factor {
			return maxD
		}
		d *= factor
	}
	return min(d, maxD)
}
