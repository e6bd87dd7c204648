package health_test

import (
	"testing"
	"time"
	"unicode/utf8"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
)

// FuzzChecks compiles user expressions and evaluates those that compile on
// a few objects: nothing may panic, every result must be in the vocabulary
// with a bounded message, and no evaluation may outlive its limits by much.
func FuzzChecks(f *testing.F) {
	for _, seed := range []string{
		`true`,
		`self.status.phase == 'Ready'`,
		`has(self.status) && self.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')`,
		`self.status.phase == 'Failed' ? 'Degraded' : 'Progressing'`,
		`self.spec.items.all(a, self.spec.items.all(b, a + b >= 0))`,
		`self.spec.items.map(a, self.spec.items.map(b, [a, b]))[0][0][0] == 0`,
		`size(self.metadata.name) > 3 && self.metadata.name.startsWith('b')`,
		`self.spec.size / 0 == 1`,
		`int(self.status.phase) > 1`,
		`self.status.phase.matches('^(R|r)eady$')`,
		`dyn(self.spec.size) == 3.0`,
		`[1, 2, 3].exists_one(x, x > 2) ? 'Healthy' : 'Unknown'`,
		`self.metadata.?name.orValue('') == 'x'`,
		`((((((((((true))))))))))`,
		`'a' + 'b' == 'ab'`,
		`timestamp(self.metadata.creationTimestamp) < timestamp('2030-01-01T00:00:00Z')`,
		`)`, ``, `self.`, `"\xff"`,
	} {
		f.Add(seed)
	}
	opts := health.CheckOptions{CostLimit: 20_000, Timeout: 20 * time.Millisecond, MaxExpressionLength: 2_000}
	objects := []string{"widget-ready.yaml", "widget-no-status.yaml", "widget-stalled.yaml"}
	big := bigWidget(f, 300)
	f.Fuzz(func(t *testing.T, expr string) {
		checks, err := health.CompileChecks([]flotillav1.HealthCheck{widgetCheck(expr)}, opts)
		if err != nil {
			return
		}
		checker := health.NewChecker(health.Options{Checks: checks})
		for _, obj := range append([]string{""}, objects...) {
			target := big
			if obj != "" {
				target = load(t, obj)
			}
			start := time.Now()
			r := checker.Assess(t.Context(), target)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("%q took %v", expr, elapsed)
			}
			switch r.Status {
			case flotillav1.HealthHealthy, flotillav1.HealthProgressing, flotillav1.HealthDegraded,
				flotillav1.HealthSuspended, flotillav1.HealthUnknown:
			default:
				t.Errorf("%q gave status %q", expr, r.Status)
			}
			if len(r.Message) > health.MaxMessageLength || !utf8.ValidString(r.Message) && utf8.ValidString(expr) {
				t.Errorf("%q gave a bad message %q", expr, r.Message)
			}
		}
	})
}
