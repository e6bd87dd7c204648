package engine

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestSyncTimeout: an Application's timeout shortens the controller's,
// never lengthens it (a tenant cannot hold a cluster's sync slot for a day).
func TestSyncTimeout(t *testing.T) {
	for _, tc := range []struct {
		name       string
		controller time.Duration
		spec       time.Duration
		want       time.Duration
	}{
		{"neither", 0, 0, defaultSyncTimeout},
		{"controller only", 20 * time.Minute, 0, 20 * time.Minute},
		{"shorter spec", 0, 5 * time.Minute, 5 * time.Minute},
		{"longer spec", 0, 24 * time.Hour, defaultSyncTimeout},
		{"longer spec, longer controller", time.Hour, 24 * time.Hour, time.Hour},
		{"spec within a longer controller", time.Hour, 30 * time.Minute, 30 * time.Minute},
	} {
		e := &Engine{opts: Options{SyncTimeout: tc.controller}}
		app := &flotillav1.Application{}
		if tc.spec > 0 {
			app.Spec.SyncPolicy.Timeout = &metav1.Duration{Duration: tc.spec}
		}
		if got := e.syncTimeout(&syncState{app: app}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
