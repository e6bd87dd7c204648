package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestSpecBounds: the hub's API server refuses intervals and retry settings
// that would spin the controller (`interval: 1ns`) or overflow its backoff
// (a factor of 2147483647), in Applications and in Fleet templates, and
// accepts the documented range.
func TestSpecBounds(t *testing.T) {
	ctx := context.Background()
	factor := func(f int32) *int32 { return &f }
	for _, tc := range []struct {
		name   string
		policy flotillav1.SyncPolicy
		refuse string // "" means accepted
	}{
		{"1ns interval", flotillav1.SyncPolicy{Interval: harness.Interval(1)}, "interval must be between 1s and 24h"},
		{"negative interval", flotillav1.SyncPolicy{Interval: harness.Interval(-time.Second)}, "interval must be between 1s and 24h"},
		{"huge interval", flotillav1.SyncPolicy{Interval: harness.Interval(1000000 * time.Hour)}, "interval must be between 1s and 24h"},
		{"huge factor", flotillav1.SyncPolicy{Retry: &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{Factor: factor(2147483647)}}}, "factor"},
		{"tiny backoff", flotillav1.SyncPolicy{Retry: &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{Duration: harness.Interval(time.Millisecond)}}}, "backoff duration must be between 1s and 1h"},
		{"huge max backoff", flotillav1.SyncPolicy{Retry: &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{MaxDuration: harness.Interval(48 * time.Hour)}}}, "backoff maxDuration must be between 1s and 24h"},
		{"in range", flotillav1.SyncPolicy{Interval: harness.Interval(time.Second), Retry: &flotillav1.RetryPolicy{
			Backoff: &flotillav1.Backoff{Duration: harness.Interval(time.Second), Factor: factor(10), MaxDuration: harness.Interval(24 * time.Hour)}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := &flotillav1.Application{
				ObjectMeta: metav1.ObjectMeta{Name: "bounds", Namespace: flotillav1.DefaultNamespace},
				Spec: flotillav1.ApplicationSpec{
					Source:      flotillav1.ApplicationSource{RepoURL: "https://git.example.com/bounds.git", Path: "."},
					Destination: flotillav1.Destination{Cluster: flotillav1.InCluster, Namespace: "bounds"},
					SyncPolicy:  tc.policy,
				},
			}
			fleet := &flotillav1.Fleet{
				ObjectMeta: metav1.ObjectMeta{Name: "bounds", Namespace: flotillav1.DefaultNamespace},
				Spec: flotillav1.FleetSpec{
					Template: flotillav1.FleetTemplate{
						Source:      app.Spec.Source,
						Destination: flotillav1.FleetDestination{Namespace: "bounds"},
						SyncPolicy:  tc.policy,
					},
				},
			}
			for _, obj := range []client.Object{app, fleet} {
				err := env.Client.Create(ctx, obj, client.DryRunAll)
				switch {
				case tc.refuse == "" && err != nil:
					t.Errorf("%T refused: %v", obj, err)
				case tc.refuse != "" && err == nil:
					t.Errorf("%T accepted, want refused with %q", obj, tc.refuse)
				case tc.refuse != "" && !strings.Contains(err.Error(), tc.refuse):
					t.Errorf("%T refused with %v, want %q", obj, err, tc.refuse)
				}
			}
		})
	}
}
