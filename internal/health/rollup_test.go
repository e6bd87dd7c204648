package health_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
)

// res is a Result for a Deployment named name in namespace shop.
func res(name string, code flotillav1.HealthStatusCode) health.Result {
	ref := health.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: name}
	return health.Result{Object: ref, Status: code, Message: ref.String() + ": " + strings.ToLower(string(code))}
}

func TestRollup(t *testing.T) {
	tests := []struct {
		name    string
		results []health.Result
		want    verdict
	}{
		{"nothing", nil, verdict{flotillav1.HealthHealthy, ""}},
		{"all healthy", []health.Result{res("a", flotillav1.HealthHealthy), res("b", flotillav1.HealthHealthy)},
			verdict{flotillav1.HealthHealthy, ""}},
		{"Degraded over Missing", []health.Result{res("a", flotillav1.HealthMissing), res("b", flotillav1.HealthDegraded)},
			verdict{flotillav1.HealthDegraded, "Deployment/shop/b: degraded"}},
		{"Missing over Progressing", []health.Result{res("a", flotillav1.HealthProgressing), res("b", flotillav1.HealthMissing)},
			verdict{flotillav1.HealthMissing, "Deployment/shop/b: missing"}},
		{"Progressing over Suspended", []health.Result{res("a", flotillav1.HealthSuspended), res("b", flotillav1.HealthProgressing)},
			verdict{flotillav1.HealthProgressing, "Deployment/shop/b: progressing"}},
		{"Suspended over Unknown", []health.Result{res("a", flotillav1.HealthUnknown), res("b", flotillav1.HealthSuspended)},
			verdict{flotillav1.HealthSuspended, "Deployment/shop/b: suspended"}},
		{"Unknown over Healthy", []health.Result{res("a", flotillav1.HealthHealthy), res("b", flotillav1.HealthUnknown)},
			verdict{flotillav1.HealthUnknown, "Deployment/shop/b: unknown"}},
		{"a code outside the vocabulary is Unknown", []health.Result{res("a", flotillav1.HealthHealthy), res("b", "Sideways")},
			verdict{flotillav1.HealthUnknown, "Deployment/shop/b: sideways"}},
		{"the first object by name speaks for the others", []health.Result{
			res("c", flotillav1.HealthDegraded), res("a", flotillav1.HealthHealthy), res("b", flotillav1.HealthDegraded), res("d", flotillav1.HealthDegraded)},
			verdict{flotillav1.HealthDegraded, "Deployment/shop/b: degraded (and 2 more Degraded)"}},
		{"a result without message", []health.Result{{Object: health.Ref{Kind: "Namespace", Name: "shop"}, Status: flotillav1.HealthMissing}},
			verdict{flotillav1.HealthMissing, "Namespace/shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := health.Rollup(tt.results)
			if diff := cmp.Diff(tt.want, verdict{code, msg}); diff != "" {
				t.Errorf("Rollup (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRollupIgnoresOrder rolls up the same results in many orders.
func TestRollupIgnoresOrder(t *testing.T) {
	codes := []flotillav1.HealthStatusCode{flotillav1.HealthHealthy, flotillav1.HealthProgressing, flotillav1.HealthSuspended, flotillav1.HealthUnknown}
	var results []health.Result
	for i, name := range []string{"e", "b", "d", "a", "c", "f", "g", "h"} {
		results = append(results, res(name, codes[i%len(codes)]))
	}
	wantCode, wantMsg := health.Rollup(results)
	if diff := cmp.Diff(verdict{flotillav1.HealthProgressing, "Deployment/shop/b: progressing (and 1 more Progressing)"}, verdict{wantCode, wantMsg}); diff != "" {
		t.Fatalf("Rollup (-want +got):\n%s", diff)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(results)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		code, msg := health.Rollup(shuffled)
		if code != wantCode || msg != wantMsg {
			t.Fatalf("Rollup of %v = %s %q, want %s %q", shuffled, code, msg, wantCode, wantMsg)
		}
	}
}

func TestRollupMessageIsBounded(t *testing.T) {
	long := res("a", flotillav1.HealthDegraded)
	long.Message = strings.Repeat("x", health.MaxMessageLength)
	_, msg := health.Rollup([]health.Result{long, res("b", flotillav1.HealthDegraded)})
	if len(msg) > health.MaxMessageLength || !strings.HasSuffix(msg, "(and 1 more Degraded)") {
		t.Errorf("message of %d bytes ends %q", len(msg), msg[max(0, len(msg)-40):])
	}
}

func TestWorse(t *testing.T) {
	order := []flotillav1.HealthStatusCode{
		flotillav1.HealthHealthy, flotillav1.HealthUnknown, flotillav1.HealthSuspended,
		flotillav1.HealthProgressing, flotillav1.HealthMissing, flotillav1.HealthDegraded,
	}
	for i, a := range order {
		for j, b := range order {
			if got, want := health.Worse(a, b), i > j; got != want {
				t.Errorf("Worse(%s, %s) = %v, want %v", a, b, got, want)
			}
		}
	}
}
