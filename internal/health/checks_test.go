package health_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
)

func widgetCheck(expr string) flotillav1.HealthCheck {
	return flotillav1.HealthCheck{Group: "example.com", Kind: "Widget", CEL: expr}
}

func mustCompile(t testing.TB, opts health.CheckOptions, specs ...flotillav1.HealthCheck) *health.Checks {
	t.Helper()
	checks, err := health.CompileChecks(specs, opts)
	if err != nil {
		t.Fatalf("CompileChecks: %v", err)
	}
	return checks
}

func assessWith(t testing.TB, checks *health.Checks, obj *unstructured.Unstructured) health.Result {
	t.Helper()
	return health.NewChecker(health.Options{Checks: checks}).Assess(t.Context(), obj)
}

func TestChecksDecideHealth(t *testing.T) {
	const phase = `self.status.phase == 'Ready'`
	const phases = `!has(self.status) ? 'Progressing' : self.status.phase == 'Ready' ? 'Healthy' : self.status.phase == 'Failed' ? 'Degraded' : 'Progressing'`
	tests := []struct {
		name  string
		check flotillav1.HealthCheck
		file  string
		want  verdict
	}{
		{"true is Healthy", widgetCheck(phase), "widget-ready.yaml",
			verdict{flotillav1.HealthHealthy, "Widget/shop/blue: health check example.com/Widget: true"}},
		{"false is Progressing", widgetCheck(phase), "widget-not-ready.yaml",
			verdict{flotillav1.HealthProgressing, "Widget/shop/blue: health check example.com/Widget: false"}},
		{"a string names the code", widgetCheck(phases), "widget-stalled.yaml",
			verdict{flotillav1.HealthDegraded, "Widget/shop/blue: health check example.com/Widget: Degraded"}},
		{"a string, healthy", widgetCheck(phases), "widget-ready.yaml",
			verdict{flotillav1.HealthHealthy, "Widget/shop/blue: health check example.com/Widget: Healthy"}},
		{"a string, guarded", widgetCheck(phases), "widget-no-status.yaml",
			verdict{flotillav1.HealthProgressing, "Widget/shop/plain: health check example.com/Widget: Progressing"}},
		{"conditions", widgetCheck(`self.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')`), "widget-ready.yaml",
			verdict{flotillav1.HealthHealthy, "Widget/shop/blue: health check example.com/Widget: true"}},
		{"replaces kstatus for its kind", widgetCheck(`true`), "widget-stalled.yaml",
			verdict{flotillav1.HealthHealthy, "Widget/shop/blue: health check example.com/Widget: true"}},
		{"replaces the built-in rules", flotillav1.HealthCheck{Group: "apps", Kind: "Deployment", CEL: `self.spec.replicas == 3`}, "deployment-deadline-exceeded.yaml",
			verdict{flotillav1.HealthHealthy, "Deployment/shop/web: health check apps/Deployment: true"}},
		{"core group", flotillav1.HealthCheck{Kind: "ConfigMap", CEL: `self.data.color == 'red'`}, "configmap.yaml",
			verdict{flotillav1.HealthProgressing, "ConfigMap/shop/settings: health check ConfigMap: false"}},
		{"other kinds keep the built-in rules", widgetCheck(`false`), "deployment-deadline-exceeded.yaml",
			verdict{flotillav1.HealthDegraded, "Deployment/shop/web: 0/3 replicas available, progress deadline exceeded"}},
		{"an error is Unknown", widgetCheck(phase), "widget-no-status.yaml",
			verdict{flotillav1.HealthUnknown, "Widget/shop/plain: health check example.com/Widget: no such key: status"}},
		{"dyn that is not bool or string", widgetCheck(`self.spec.size`), "widget-ready.yaml",
			verdict{flotillav1.HealthUnknown, "Widget/shop/blue: health check example.com/Widget: returned int, want bool or string"}},
		{"a string outside the vocabulary is not quoted", widgetCheck(`self.status.phase`), "widget-not-ready.yaml",
			verdict{flotillav1.HealthUnknown, "Widget/shop/blue: health check example.com/Widget: returned a string that is not Healthy, Progressing, Degraded, Suspended or Unknown"}},
		{"Missing is not for existing objects", widgetCheck(`'Missing'`), "widget-ready.yaml",
			verdict{flotillav1.HealthUnknown, "Widget/shop/blue: health check example.com/Widget: returned a string that is not Healthy, Progressing, Degraded, Suspended or Unknown"}},
		{"a Secret's values stay out of errors", flotillav1.HealthCheck{Kind: "Secret", CEL: `int(self.data.password) > 0`}, "secret.yaml",
			verdict{flotillav1.HealthUnknown, "Secret/shop/creds: health check Secret failed on this Secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := mustCompile(t, health.DefaultCheckOptions(), tt.check)
			got := assessWith(t, checks, load(t, tt.file))
			if diff := cmp.Diff(tt.want, verdictOf(got)); diff != "" {
				t.Errorf("Assess (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChecksMissingObject(t *testing.T) {
	checks := mustCompile(t, health.DefaultCheckOptions(), widgetCheck(`true`))
	if got := assessWith(t, checks, nil); got.Status != flotillav1.HealthMissing {
		t.Errorf("Assess(nil) = %s, want Missing", got.Status)
	}
}

func TestCompileChecksRefusesBadChecks(t *testing.T) {
	long := "true" + strings.Repeat(" && true", 2_000)
	tests := []struct {
		name  string
		specs []flotillav1.HealthCheck
		// the start of the first line of each *CheckError (CEL's own
		// words after the position are its business)
		want []string
	}{
		{"syntax error", []flotillav1.HealthCheck{widgetCheck(`true`), {Group: "example.com", Kind: "Gadget", CEL: `self.status.phase ==`}},
			[]string{"healthChecks[1] (example.com/Gadget): syntax error: ERROR: <input>:1:21: Syntax error"}},
		{"not bool", []flotillav1.HealthCheck{widgetCheck(`self.spec.size + 1`)},
			[]string{"healthChecks[0] (example.com/Widget): returns int, want bool or string"}},
		{"type error", []flotillav1.HealthCheck{widgetCheck(`self.spec.size > 1 || 1 + 'x'`)},
			[]string{"healthChecks[0] (example.com/Widget): type error: ERROR: <input>:1:25: found no matching overload for '_+_' applied to '(int, string)'"}},
		{"int", []flotillav1.HealthCheck{widgetCheck(`size(self.spec)`)},
			[]string{"healthChecks[0] (example.com/Widget): returns int, want bool or string"}},
		{"list", []flotillav1.HealthCheck{widgetCheck(`[true]`)},
			[]string{"healthChecks[0] (example.com/Widget): returns list(bool), want bool or string"}},
		{"unknown variable", []flotillav1.HealthCheck{widgetCheck(`object.status.ready`)},
			[]string{"healthChecks[0] (example.com/Widget): type error: ERROR: <input>:1:1: undeclared reference to 'object'"}},
		{"empty", []flotillav1.HealthCheck{widgetCheck(``)},
			[]string{"healthChecks[0] (example.com/Widget): cel is empty"}},
		{"no kind", []flotillav1.HealthCheck{{Group: "example.com", CEL: `true`}},
			[]string{"healthChecks[0] (example.com/): kind is empty"}},
		{"twice the same kind", []flotillav1.HealthCheck{widgetCheck(`true`), widgetCheck(`false`)},
			[]string{"healthChecks[1] (example.com/Widget): healthChecks[0] already checks this kind"}},
		{"too long", []flotillav1.HealthCheck{widgetCheck(long)},
			[]string{"healthChecks[0] (example.com/Widget): syntax error: ERROR: <input>:-1:0: expression code point size exceeds limit: size: 16004, limit 10000"}},
		{"every bad check at once", []flotillav1.HealthCheck{widgetCheck(`1`), {Kind: "ConfigMap", CEL: `)`}},
			[]string{"healthChecks[0] (example.com/Widget): returns int, want bool or string", "healthChecks[1] (ConfigMap): syntax error: ERROR: <input>:1:1: Syntax error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks, err := health.CompileChecks(tt.specs, health.DefaultCheckOptions())
			if err == nil {
				t.Fatalf("CompileChecks = %v, nil; want an error", checks)
			}
			if !errors.Is(err, health.ErrInvalidCheck) {
				t.Errorf("error %v is not ErrInvalidCheck", err)
			}
			var ce *health.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v holds no *CheckError", err)
			}
			var got []string
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "healthChecks[") {
					continue // CEL's caret lines
				}
				if n := len(got); n < len(tt.want) && strings.HasPrefix(line, tt.want[n]) {
					line = tt.want[n]
				}
				got = append(got, line)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nfull error:\n%v", diff, err)
			}
		})
	}
}

// bigWidget is a Widget whose spec.items has n elements.
func bigWidget(t testing.TB, n int) *unstructured.Unstructured {
	obj := load(t, "widget-ready.yaml")
	items := make([]any, n)
	for i := range items {
		items[i] = int64(i)
	}
	obj.Object["spec"].(map[string]any)["items"] = items
	return obj
}

// cube visits n³ triples of spec.items.
const cube = `self.spec.items.all(a, self.spec.items.all(b, self.spec.items.all(c, a + b + c >= 0)))`

func TestChecksLimitsStopHostileExpressions(t *testing.T) {
	tests := []struct {
		name string
		opts health.CheckOptions
		want string
	}{
		{"cost limit", health.CheckOptions{CostLimit: 10_000, Timeout: time.Minute}, "stopped: cost limit of 10000 exceeded"},
		{"time limit", health.CheckOptions{CostLimit: 1 << 62, Timeout: 50 * time.Millisecond}, "stopped: time limit of 50ms exceeded"},
		// With the defaults, whichever comes first: the time limit does
		// under the race detector.
		{"defaults", health.DefaultCheckOptions(), "stopped: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := mustCompile(t, tt.opts, widgetCheck(cube))
			start := time.Now()
			got := assessWith(t, checks, bigWidget(t, 1000)) // a billion steps without a limit
			elapsed := time.Since(start)
			if got.Status != flotillav1.HealthUnknown {
				t.Errorf("status = %s, want Unknown", got.Status)
			}
			prefix := "Widget/shop/blue: health check example.com/Widget: "
			if !strings.HasPrefix(got.Message, prefix+tt.want) {
				t.Errorf("message = %q, want %q", got.Message, prefix+tt.want+"…")
			}
			if elapsed > 3*time.Second {
				t.Errorf("stopping took %v", elapsed)
			}
		})
	}
}

// TestChecksOneBadObjectAffectsNoOther evaluates, concurrently, objects of
// one kind of which some break the check: those are Unknown, the others
// are what the check says.
func TestChecksOneBadObjectAffectsNoOther(t *testing.T) {
	// Only the cost limit may stop an evaluation here, so that the results
	// do not depend on the machine's speed.
	checks := mustCompile(t, health.CheckOptions{CostLimit: 10_000, Timeout: time.Minute},
		widgetCheck(`self.status.phase == 'Ready' && self.spec.items.all(i, i >= 0)`))
	const n = 12
	objs := make([]*unstructured.Unstructured, n)
	for i := range objs {
		objs[i] = bigWidget(t, 10)
		objs[i].SetName(fmt.Sprintf("w%02d", i))
		switch i % 3 {
		case 1: // no status: an evaluation error
			delete(objs[i].Object, "status")
		case 2: // huge: past the cost limit
			objs[i] = bigWidget(t, 100_000)
			objs[i].SetName(fmt.Sprintf("w%02d", i))
		}
	}
	got := make([]verdict, n)
	var wg sync.WaitGroup
	checker := health.NewChecker(health.Options{Checks: checks})
	for i := range objs {
		wg.Go(func() { got[i] = verdictOf(checker.Assess(t.Context(), objs[i])) })
	}
	wg.Wait()
	var want []verdict
	for i := range n {
		prefix := fmt.Sprintf("Widget/shop/w%02d: health check example.com/Widget: ", i)
		switch i % 3 {
		case 0:
			want = append(want, verdict{flotillav1.HealthHealthy, prefix + "true"})
		case 1:
			want = append(want, verdict{flotillav1.HealthUnknown, prefix + "no such key: status"})
		case 2:
			want = append(want, verdict{flotillav1.HealthUnknown, prefix + "stopped: cost limit of 10000 exceeded"})
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestNilChecks(t *testing.T) {
	checks, err := health.CompileChecks(nil, health.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := assessWith(t, checks, load(t, "widget-stalled.yaml"))
	if got.Status != flotillav1.HealthDegraded {
		t.Errorf("no checks: %s, want kstatus' Degraded", got.Status)
	}
}
