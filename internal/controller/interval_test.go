package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func int32p(i int32) *int32 { return &i }

// TestBackoffSaturates: no factor, duration or retry count makes the wait
// negative or longer than MaxDuration (a factor of 2147483647 overflowed it
// into a negative wait that never retried).
func TestBackoffSaturates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rp    *flotillav1.RetryPolicy
		retry int32
		want  time.Duration
	}{
		{"defaults, first", nil, 0, 5 * time.Second},
		{"defaults, third", nil, 2, 20 * time.Second},
		{"defaults, capped", nil, 30, 3 * time.Minute},
		{"huge factor", &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{Factor: int32p(2147483647)}}, 1, 50 * time.Second},
		{"huge factor, many retries", &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{
			Factor: int32p(2147483647), MaxDuration: dur(1000000 * time.Hour)}}, 2147483647, 24 * time.Hour},
		{"huge duration", &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{
			Duration: dur(1 << 62), MaxDuration: dur(1 << 62)}}, 5, 24 * time.Hour},
		{"nanosecond duration", &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{Duration: dur(1)}}, 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(tc.rp, tc.retry); got != tc.want {
				t.Errorf("backoff = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSyncIntervalBounds: an interval stored before the CRD refused it is
// clamped to [1s, 24h], so `interval: 1ns` is no tight loop.
func TestSyncIntervalBounds(t *testing.T) {
	for _, tc := range []struct {
		in   *metav1.Duration
		want time.Duration
	}{
		{nil, 10 * time.Minute},
		{dur(1), time.Second},
		{dur(-time.Second), 10 * time.Minute},
		{dur(2 * time.Second), 2 * time.Second},
		{dur(1000000 * time.Hour), 24 * time.Hour},
	} {
		if got := syncInterval(flotillav1.SyncPolicy{Interval: tc.in}); got != tc.want {
			t.Errorf("syncInterval(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
