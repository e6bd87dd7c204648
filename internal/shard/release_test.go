package shard

import (
	"context"
	"log/slog"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// TestReleaseAfterLostRenewal: a renewal whose answer was lost leaves the
// member with an older version of its Lease than the server's. Release
// still deletes the Lease, which its session wrote; a Lease another
// session wrote since is left alone.
func TestReleaseAfterLostRenewal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1, Lean: true})
	if err != nil {
		t.Fatalf("a local control plane (make k8s): %v", err)
	}
	t.Cleanup(func() { _ = f.Stop() })
	c, err := client.New(f.Clusters[0].RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shards"}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, id   string
		session    func(m *Member) string // the session of the late write
		wantDelete bool
	}{
		{"own session", "r1", func(m *Member) string { return m.session }, true},
		{"another session", "r2", func(*Member) string { return "another" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Options{
				Client: c, Reader: c, Namespace: "shards", ID: tc.id,
				LeaseDuration: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
				Keys: func(context.Context) ([]string, error) { return []string{"a", "b"}, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = m.Start(runCtx); close(done) }()
			key := client.ObjectKey{Namespace: "shards", Name: LeasePrefix + m.ID()}
			var l coordinationv1.Lease
			if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				return c.Get(ctx, key, &l) == nil, nil
			}); err != nil {
				t.Fatalf("no Lease %s: %v", key.Name, err)
			}
			stop()
			<-done

			// The late write: the server moved on, the member did not see it.
			if err := c.Get(ctx, key, &l); err != nil {
				t.Fatal(err)
			}
			l.Annotations[SessionAnnotation] = tc.session(m)
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(time.Second)}
			if err := c.Update(ctx, &l); err != nil {
				t.Fatal(err)
			}
			err = m.Release(ctx)
			gone := apierrors.IsNotFound(c.Get(ctx, key, &l))
			if gone != tc.wantDelete {
				t.Errorf("Release: %v; Lease deleted: %v, want %v", err, gone, tc.wantDelete)
			}
			if !tc.wantDelete && err == nil {
				t.Errorf("Release left another session's Lease without saying so")
			}
		})
	}
}
