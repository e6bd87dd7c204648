package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// A sync that failed in its phases is retried with its hooks while
// syncPolicy.retry allows, or when asked for; after that its failure
// stays, and a sync without change does not turn it into a success.
func TestPhasedRetry(t *testing.T) {
	wave := int32(2)
	failedIn := func(phase string, retries int32) *flotillav1.OperationState {
		return &flotillav1.OperationState{Phase: flotillav1.OperationFailed, SyncPhase: phase, SyncWave: &wave, RetryCount: retries, Message: "boom"}
	}
	cases := []struct {
		name      string
		op        *flotillav1.OperationState
		limit     int32
		requested bool
		rerun     bool
		held      bool
	}{
		{name: "no operation"},
		{name: "succeeded", op: &flotillav1.OperationState{Phase: flotillav1.OperationSucceeded, SyncPhase: "PostSync"}},
		{name: "failed at once, not in phases", op: failedIn("", 0), limit: 1},
		{name: "retry left", op: failedIn("PostSync", 0), limit: 2, rerun: true},
		{name: "no limit", op: failedIn("PostSync", 7), rerun: true},
		{name: "retries exhausted", op: failedIn("PostSync", 2), limit: 2, held: true},
		{name: "exhausted but asked for", op: failedIn("Sync", 5), limit: 2, requested: true, rerun: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := &flotillav1.Application{}
			app.Status.Operation = tc.op
			if tc.limit > 0 {
				app.Spec.SyncPolicy.Retry = &flotillav1.RetryPolicy{Limit: tc.limit}
			}
			app.Status.Conditions = []metav1.Condition{{Type: flotillav1.ConditionReady, Status: metav1.ConditionFalse, Reason: flotillav1.ReasonWaveFailed}}
			if got := retriesPhasedSync(app, tc.requested); got != tc.rerun {
				t.Errorf("retriesPhasedSync = %v, want %v", got, tc.rerun)
			}
			f := unretriedFailure(app, tc.requested)
			if (f != nil) != tc.held {
				t.Fatalf("unretriedFailure = %+v, want held %v", f, tc.held)
			}
			if f != nil && (f.Reason != flotillav1.ReasonWaveFailed || f.Message != "boom" || f.Phase != "PostSync" || f.Wave != 2) {
				t.Errorf("unretriedFailure = %+v, want the last failure as it was", f)
			}
		})
	}
}
