package rollout

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// fleet simulates a Fleet and its clusters: each step plans, then every
// Application takes its pin and settles there, Healthy unless its revision
// is bad.
type fleet struct {
	t        *testing.T
	rollout  flotillav1.Rollout
	clusters []Cluster
	apps     map[string]App
	status   flotillav1.FleetStatus
	now      time.Time
	bad      map[string]bool
	events   []Event
	checks   *Checks
}

func newFleet(t *testing.T, r flotillav1.Rollout, names ...string) *fleet {
	f := &fleet{t: t, rollout: r, apps: map[string]App{}, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), bad: map[string]bool{}}
	for _, n := range names {
		f.clusters = append(f.clusters, Cluster{Name: n, Labels: map[string]string{"canary": map[bool]string{true: "true", false: "false"}[n == "c1"]}})
	}
	checks, err := CompileChecks(r.Waves)
	if err != nil {
		t.Fatal(err)
	}
	f.checks = checks
	return f
}

// step plans once at target, then lets the Applications follow their pins
// (settle false: they take the pin but have not reported yet).
func (f *fleet) step(target string, opts ...func(*Input)) Result {
	f.t.Helper()
	in := Input{Rollout: f.rollout, Clusters: f.clusters, Apps: f.apps, Target: target, Status: f.status, Now: f.now, Checks: f.checks}
	for _, o := range opts {
		o(&in)
	}
	res, err := Plan(in)
	if err != nil {
		f.t.Fatal(err)
	}
	f.status.Waves, f.status.StableRevision, f.status.FailedRevision = res.Waves, res.StableRevision, res.FailedRevision
	f.events = append(f.events, res.Events...)
	apps := map[string]App{}
	for c, rev := range res.Pins {
		a := App{Exists: true, Pinned: rev, Revision: rev, Synced: true, Healthy: !f.bad[rev], Degraded: f.bad[rev],
			Object: map[string]any{"status": map[string]any{"sync": map[string]any{"revision": rev}}}}
		if a.Degraded {
			a.Problem, a.Faulty = "Deployment/web: never available", "Deployment/shop/web"
		}
		apps[c] = a
	}
	f.apps = apps
	f.now = f.now.Add(time.Second)
	return res
}

func (f *fleet) pins() string {
	var b strings.Builder
	for _, c := range f.clusters {
		b.WriteString(c.Name + "=" + f.apps[c.Name].Pinned + " ")
	}
	return strings.TrimSpace(b.String())
}

func (f *fleet) phases() string {
	var parts []string
	for _, w := range f.status.Waves {
		parts = append(parts, w.Name+":"+string(w.Phase))
	}
	return strings.Join(parts, " ")
}

func (f *fleet) eventNames() string {
	var parts []string
	for _, e := range f.events {
		parts = append(parts, e.Name+"/"+e.Wave)
	}
	return strings.Join(parts, " ")
}

func threeWaves() flotillav1.Rollout {
	return flotillav1.Rollout{Waves: []flotillav1.RolloutWave{
		{Name: "canary", ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}},
		{Name: "one", Clusters: []string{"c2"}},
		{Name: "rest"},
	}}
}

func TestGoodRevisionPassesWavesInOrder(t *testing.T) {
	f := newFleet(t, threeWaves(), "c1", "c2", "c3", "c4")
	f.step("A")
	f.step("A")
	if f.pins() != "c1=A c2=A c3=A c4=A" || f.status.StableRevision != "A" {
		t.Fatalf("a new fleet: pins %s, stable %q; want every cluster on A at once, A stable", f.pins(), f.status.StableRevision)
	}
	f.events = nil
	want := []string{
		"c1=B c2=A c3=A c4=A", // the canary moves
		"c1=B c2=B c3=A c4=A", // it passed: wave one moves
		"c1=B c2=B c3=B c4=B", // then the rest
	}
	for i, w := range want {
		f.step("B")
		if f.pins() != w {
			t.Fatalf("step %d: pins %s, want %s (waves %s)", i, f.pins(), w, f.phases())
		}
	}
	res := f.step("B")
	if !res.Settled || f.status.StableRevision != "B" || f.phases() != "canary:Succeeded one:Succeeded rest:Succeeded" {
		t.Fatalf("after the rollout: settled %v, stable %q, waves %s", res.Settled, f.status.StableRevision, f.phases())
	}
	if got := f.eventNames(); got != "RolloutWavePassed/canary RolloutWavePassed/one RolloutWavePassed/rest" {
		t.Errorf("events %s: want each wave passed once, in order", got)
	}
}

func TestBakeTimeHoldsTheNextWave(t *testing.T) {
	r := threeWaves()
	r.Waves[0].BakeTime = &metav1.Duration{Duration: time.Minute}
	f := newFleet(t, r, "c1", "c2", "c3")
	f.step("A")
	f.step("A")
	f.step("B")
	res := f.step("B")
	if f.pins() != "c1=B c2=A c3=A" || f.status.Waves[0].Phase != flotillav1.WaveBaking || res.Wake <= 0 {
		t.Fatalf("pins %s, waves %s, wake %s: want the canary baking and the others held", f.pins(), f.phases(), res.Wake)
	}
	if !strings.Contains(f.status.Waves[0].Message, "bakes") || !strings.Contains(f.status.Waves[1].Message, "waits for wave canary") {
		t.Errorf("messages %q, %q: want why each waits", f.status.Waves[0].Message, f.status.Waves[1].Message)
	}
	f.now = f.now.Add(30 * time.Second)
	f.step("B")
	if f.pins() != "c1=B c2=A c3=A" {
		t.Fatalf("half way through the bake time: pins %s", f.pins())
	}
	f.step("B", func(in *Input) { in.Promote = true })
	if f.status.Waves[0].Phase != flotillav1.WaveSucceeded || !strings.Contains(f.status.Waves[0].Message, "promoted") {
		t.Fatalf("a promote: waves %s, %q; want the canary passed, promoted", f.phases(), f.status.Waves[0].Message)
	}
	if f.pins() != "c1=B c2=B c3=A" {
		t.Fatalf("after the promote: pins %s, want wave one moving", f.pins())
	}
}

func TestBadRevisionRollsBackAndIsNotRetried(t *testing.T) {
	f := newFleet(t, threeWaves(), "c1", "c2", "c3", "c4")
	f.step("A")
	f.step("A")
	f.bad["B"] = true
	f.events = nil
	f.step("B") // the canary takes B
	f.step("B") // and is Degraded: the wave fails, the canary goes back
	if f.pins() != "c1=A c2=A c3=A c4=A" {
		t.Fatalf("pins %s: want the canary rolled back to A, the others never moved", f.pins())
	}
	if f.status.FailedRevision != "B" || f.status.StableRevision != "A" {
		t.Fatalf("failed %q, stable %q", f.status.FailedRevision, f.status.StableRevision)
	}
	if w := f.status.Waves[0]; w.Phase != flotillav1.WaveFailed || !strings.Contains(w.Message, "cluster c1: Deployment/web") || !strings.Contains(w.Message, "rolled back to A") {
		t.Fatalf("canary wave %+v: want Failed naming the cluster and the object, and the rollback", w)
	}
	if got := f.eventNames(); got != "RolloutFailed/canary RolloutRolledBack/" {
		t.Errorf("events %s", got)
	} else if ev := f.events[0]; ev.Cluster != "c1" || ev.Object != "Deployment/shop/web" || ev.Revision != "B" {
		t.Errorf("the failure event %+v: want it to name cluster c1, its object and B", ev)
	}
	for range 3 {
		f.step("B")
	}
	if f.pins() != "c1=A c2=A c3=A c4=A" || f.status.FailedRevision != "B" {
		t.Fatalf("the failed revision was retried: pins %s, failed %q", f.pins(), f.status.FailedRevision)
	}
	if got := f.eventNames(); got != "RolloutFailed/canary RolloutRolledBack/" {
		t.Errorf("events after holding %s: want no repeat", got)
	}
	f.step("C") // a newer, good revision rolls out again
	if f.pins() != "c1=C c2=A c3=A c4=A" || f.status.FailedRevision != "" {
		t.Fatalf("a newer revision: pins %s, failed %q", f.pins(), f.status.FailedRevision)
	}
}

func TestProgressDeadlineFailsAWave(t *testing.T) {
	r := threeWaves()
	r.ProgressDeadline = &metav1.Duration{Duration: time.Minute}
	f := newFleet(t, r, "c1", "c2")
	f.step("A")
	f.step("A")
	f.step("B")
	// B never becomes Healthy, and is not Degraded either.
	stuck := f.apps["c1"]
	stuck.Healthy = false
	f.apps["c1"] = stuck
	in := func(in *Input) { in.Apps["c1"] = stuck }
	f.step("B", in)
	f.now = f.now.Add(2 * time.Minute)
	f.apps["c1"] = stuck
	f.step("B", in)
	if f.status.FailedRevision != "B" || f.pins() != "c1=A c2=A" || !strings.Contains(f.status.Waves[0].Message, "within 1m0s") {
		t.Fatalf("past the deadline: failed %q, pins %s, canary %q", f.status.FailedRevision, f.pins(), f.status.Waves[0].Message)
	}
}

func TestNoAutoRollbackLeavesClustersWhereTheyAre(t *testing.T) {
	r := threeWaves()
	off := false
	r.AutoRollback = &off
	f := newFleet(t, r, "c1", "c2")
	f.step("A")
	f.step("A")
	f.bad["B"] = true
	f.step("B")
	f.step("B")
	if f.pins() != "c1=B c2=A" || f.status.FailedRevision != "B" {
		t.Fatalf("pins %s, failed %q: want the canary left on B, B failed", f.pins(), f.status.FailedRevision)
	}
}

func TestPausedMovesNothing(t *testing.T) {
	r := threeWaves()
	f := newFleet(t, r, "c1", "c2")
	f.step("A")
	f.step("A")
	f.rollout.Paused = true
	f.step("B")
	f.step("B")
	if f.pins() != "c1=A c2=A" || !strings.Contains(f.status.Waves[0].Message, "paused") {
		t.Fatalf("paused: pins %s, canary %q", f.pins(), f.status.Waves[0].Message)
	}
	f.rollout.Paused = false
	f.step("B")
	if f.pins() != "c1=B c2=A" {
		t.Fatalf("resumed: pins %s", f.pins())
	}
}

func TestChecksGateAWave(t *testing.T) {
	r := threeWaves()
	r.Waves[0].Checks = []string{"self.status.sync.revision == 'C'"}
	f := newFleet(t, r, "c1", "c2")
	f.step("A")
	f.step("B")
	f.step("B")
	if f.pins() != "c1=B c2=A" || !strings.Contains(f.status.Waves[0].Message, "is false") {
		t.Fatalf("a false check: pins %s, canary %q", f.pins(), f.status.Waves[0].Message)
	}
	if _, err := CompileChecks([]flotillav1.RolloutWave{{Name: "w", Checks: []string{"self.status +"}}}); err == nil || !strings.Contains(err.Error(), "wave w checks[0]") {
		t.Errorf("a check that does not compile: %v", err)
	}
}

func TestAssign(t *testing.T) {
	pct := int32(50)
	waves := []flotillav1.RolloutWave{
		{Name: "named", Clusters: []string{"e", "zz"}},
		{Name: "half", Percent: &pct},
		{Name: "labelled", ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}},
	}
	var clusters []Cluster
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		clusters = append(clusters, Cluster{Name: n})
	}
	groups, err := Assign(waves, clusters)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{strings.Join(groups[0], ","), strings.Join(groups[1], ","), strings.Join(groups[2], ",")}
	if want := []string{"e", "a,b", "c,d"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("groups %v, want %v (a named wave, half of the four left rounded up, the rest joining the last)", got, want)
	}
}
