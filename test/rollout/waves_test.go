package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// release is the repository at one version: a ConfigMap naming it and a
// Deployment whose pods, when broken, fit no node, so that the Deployment
// never becomes available and is Degraded past its progress deadline.
func release(version string, broken bool) map[string]string {
	nodeSelector := "{}"
	if broken {
		nodeSelector = "{flotilla.dev/no-such-node: \"true\"}"
	}
	return map[string]string{
		"app/config.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release\ndata:\n  version: %q\n", version),
		"app/web.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  progressDeadlineSeconds: 15
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: %s
      containers:
      - name: web
        image: registry.example/web:%s
`, nodeSelector, version),
	}
}

// clusterNames are the Fleet's clusters: c1 is the canary, c2 the second
// wave, c3 and c4 the last.
var clusterNames = []string{"c1", "c2", "c3", "c4"}

// TestWavesRollOutAndRollBack: a good commit passes three waves in order,
// each waiting for its gate and bake time; a bad commit fails the canary,
// which goes back to the last good commit while the later waves never see
// the bad one; a newer good commit rolls out again.
func TestWavesRollOutAndRollBack(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "shop")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", release("1", false))
	for i, name := range clusterNames {
		env.RegisterCluster(t, name, fmt.Sprintf("dev-%d", i+1), map[string]string{"canary": fmt.Sprint(name == "c1")})
	}
	bake := 6 * time.Second
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("shop"), TargetRevision: "main", Path: "app"},
				Destination: flotillav1.FleetDestination{Namespace: "shop"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated: &flotillav1.AutomatedSync{Prune: true, SelfHeal: true}, CreateNamespace: true,
					Interval: harness.Interval(2 * time.Second),
				},
			},
			Rollout: &flotillav1.Rollout{
				ProgressDeadline: &metav1.Duration{Duration: 2 * time.Minute},
				Waves: []flotillav1.RolloutWave{
					{Name: "canary", ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}, BakeTime: &metav1.Duration{Duration: bake}},
					{Name: "second", Clusters: []string{"c2"}},
					{Name: "rest", MaxParallel: "1"},
				},
			},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	waitFleet(t, "the first commit everywhere and stable", func(f *flotillav1.Fleet) bool {
		return f.Status.StableRevision == first && allPhases(f, flotillav1.WaveSucceeded)
	})
	if got := wavesOf(t); got != "canary=c1 second=c2 rest=c3,c4" {
		t.Fatalf("waves %s: want the canary by label, c2 by name, the rest last", got)
	}

	// A good commit passes the waves in order.
	obs := observe(t)
	second := repo.Commit("main", release("2", false))
	waitFleet(t, "the second commit stable", func(f *flotillav1.Fleet) bool {
		return f.Status.StableRevision == second && allPhases(f, flotillav1.WaveSucceeded)
	})
	rec := obs.stop()
	pinned := rec.firstPinned(second)
	settled := rec.firstSettled(second)
	for _, c := range clusterNames {
		if pinned[c].IsZero() || settled[c].IsZero() {
			t.Fatalf("cluster %s was never seen pinned (%v) and settled (%v) at the second commit", c, pinned[c], settled[c])
		}
	}
	if pinned["c2"].Sub(settled["c1"]) < bake-time.Second {
		t.Errorf("the second wave moved %s after the canary settled: want it to wait the bake time of %s", pinned["c2"].Sub(settled["c1"]), bake)
	}
	for _, c := range []string{"c3", "c4"} {
		if pinned[c].Before(settled["c2"]) {
			t.Errorf("%s moved at %s, before the second wave settled at %s", c, pinned[c], settled["c2"])
		}
	}
	if rec.maxMoving("rest", second) > 1 {
		t.Errorf("the last wave has maxParallel 1, but %d of its clusters moved at once", rec.maxMoving("rest", second))
	}
	for _, want := range []string{"canary=Baking second=Pending", "canary=Succeeded second=Progressing", "second=Succeeded rest=Progressing"} {
		if !rec.sawWaves(want) {
			t.Errorf("the rollout status never read %q; it read:\n%s", want, strings.Join(rec.waveLines(), "\n"))
		}
	}
	for i, c := range clusterNames {
		if v := releaseVersion(t, i+1); v != "2" {
			t.Errorf("cluster %s runs release %q, want 2", c, v)
		}
	}

	// A bad commit fails the canary and is rolled back; the later waves
	// never take it; a Notification hears of it, naming the cluster and
	// the object.
	hook := receiveWebhooks(t, flotillav1.EventRolloutFailed, flotillav1.EventRolloutRolledBack)
	obs = observe(t)
	bad := repo.Commit("main", release("3", true))
	failed := waitFleet(t, "the bad commit failed and rolled back", func(f *flotillav1.Fleet) bool {
		return f.Status.FailedRevision == bad && len(f.Status.Waves) == 3 && f.Status.Waves[0].Phase == flotillav1.WaveFailed
	})
	waitApps(t, "the canary back on the second commit, healthy", func(apps map[string]*flotillav1.Application) bool {
		a := apps["c1"]
		return a != nil && a.Spec.Source.TargetRevision == second && a.Status.Sync.Revision == second && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	rec = obs.stop()
	if msg := failed.Status.Waves[0].Message; !strings.Contains(msg, "cluster c1") || !strings.Contains(msg, "Deployment shop/web") || !strings.Contains(msg, "rolled back to "+second[:12]) {
		t.Errorf("canary wave message %q: want it to name the cluster, the Deployment and the rollback", msg)
	}
	for _, c := range []string{"c2", "c3", "c4"} {
		if !rec.firstPinned(bad)[c].IsZero() {
			t.Errorf("cluster %s was pinned to the bad commit", c)
		}
	}
	if v := releaseVersion(t, 1); v != "2" {
		t.Errorf("the canary runs release %q after the rollback, want 2", v)
	}
	// It stays rolled back: the bad commit is not tried again.
	time.Sleep(6 * time.Second)
	if a := appsByCluster(t)["c1"]; a.Spec.Source.TargetRevision != second {
		t.Errorf("the canary is pinned to %s after the rollback, want the second commit", a.Spec.Source.TargetRevision)
	}
	if !hasEvent(t, rollbackReason) {
		t.Errorf("no %s Event on the Fleet", rollbackReason)
	}
	failedNote := hook.wait(t, flotillav1.EventRolloutFailed)
	if failedNote.Cluster != "c1" || failedNote.Object != "Deployment/shop/web" || failedNote.Fleet != "shop" || failedNote.Revision != bad {
		t.Errorf("the RolloutFailed notification %+v: want it to name cluster c1, Deployment/shop/web, the Fleet and the bad revision", failedNote)
	}
	if back := hook.wait(t, flotillav1.EventRolloutRolledBack); !strings.Contains(back.Message, "c1") || back.Revision != second {
		t.Errorf("the RolloutRolledBack notification %+v: want it to name c1 and the revision it went back to", back)
	}

	// A newer good commit rolls out again.
	fourth := repo.Commit("main", release("4", false))
	waitFleet(t, "the fourth commit stable", func(f *flotillav1.Fleet) bool {
		return f.Status.StableRevision == fourth && f.Status.FailedRevision == "" && allPhases(f, flotillav1.WaveSucceeded)
	})
	for i, c := range clusterNames {
		if v := releaseVersion(t, i+1); v != "4" {
			t.Errorf("cluster %s runs release %q, want 4", c, v)
		}
	}
}

const rollbackReason = "RolloutRolledBack"

func allPhases(f *flotillav1.Fleet, phase flotillav1.WavePhase) bool {
	if len(f.Status.Waves) == 0 {
		return false
	}
	for _, w := range f.Status.Waves {
		if w.Phase != phase {
			return false
		}
	}
	return true
}

func wavesOf(t *testing.T) string {
	t.Helper()
	f := getFleet(t)
	var parts []string
	for _, w := range f.Status.Waves {
		parts = append(parts, w.Name+"="+strings.Join(w.Clusters, ","))
	}
	return strings.Join(parts, " ")
}

func getFleet(t *testing.T) *flotillav1.Fleet {
	t.Helper()
	f := &flotillav1.Fleet{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "shop"}, f); err != nil {
		t.Fatal(err)
	}
	return f
}

func waitFleet(t *testing.T, what string, cond func(*flotillav1.Fleet) bool) *flotillav1.Fleet {
	t.Helper()
	var f *flotillav1.Fleet
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 4*time.Minute, true, func(context.Context) (bool, error) {
		f = getFleet(t)
		return cond(f), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v\nwaves: %+v\ncontroller log:\n%s", what, err, f.Status.Waves, env.ControllerLogTail(30))
	}
	return f
}

func appsByCluster(t *testing.T) map[string]*flotillav1.Application {
	t.Helper()
	var list flotillav1.ApplicationList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(flotillav1.DefaultNamespace), client.MatchingLabels{flotillav1.FleetLabel: "shop"}); err != nil {
		t.Fatal(err)
	}
	out := map[string]*flotillav1.Application{}
	for i := range list.Items {
		out[list.Items[i].Labels[flotillav1.ClusterLabel]] = &list.Items[i]
	}
	return out
}

func waitApps(t *testing.T, what string, cond func(map[string]*flotillav1.Application) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		return cond(appsByCluster(t)), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// releaseVersion is the version the ConfigMap of workload cluster dev-i
// names.
func releaseVersion(t *testing.T, i int) string {
	t.Helper()
	cm := harness.LiveConfigMap(t, workloadClient(t, i), "shop", "release")
	if cm == nil {
		return ""
	}
	return cm.Data["version"]
}

// hasEvent says whether the Fleet has an Event of reason.
func hasEvent(t *testing.T, reason string) bool {
	t.Helper()
	var events eventsv1.EventList
	if err := env.Client.List(context.Background(), &events, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Regarding.Kind == "Fleet" && e.Regarding.Name == "shop" && e.Reason == reason {
			return true
		}
	}
	return false
}

// sample is one look at the Fleet and its Applications.
type sample struct {
	at    time.Time
	waves string
	apps  map[string]flotillav1.Application
}

type observer struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []sample
}

// observe looks at the Fleet and its Applications every 100ms until stop.
func observe(t *testing.T) *observer {
	ctx, cancel := context.WithCancel(context.Background())
	o := &observer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for ctx.Err() == nil {
			o.look(ctx)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(cancel)
	return o
}

// look records one sample of the Fleet and its Applications.
func (o *observer) look(ctx context.Context) {
	s := sample{at: time.Now(), apps: map[string]flotillav1.Application{}}
	f := &flotillav1.Fleet{}
	var list flotillav1.ApplicationList
	if env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "shop"}, f) != nil ||
		env.Client.List(ctx, &list, client.InNamespace(flotillav1.DefaultNamespace), client.MatchingLabels{flotillav1.FleetLabel: "shop"}) != nil {
		return
	}
	var parts []string
	for _, w := range f.Status.Waves {
		parts = append(parts, w.Name+"="+string(w.Phase))
	}
	s.waves = strings.Join(parts, " ")
	for _, a := range list.Items {
		s.apps[a.Labels[flotillav1.ClusterLabel]] = a
	}
	o.mu.Lock()
	o.samples = append(o.samples, s)
	o.mu.Unlock()
}

// stop ends the looking with one last look, so that the state the test
// waited for is among the samples even when it came between two looks.
func (o *observer) stop() *observer {
	o.cancel()
	<-o.done
	o.look(context.Background())
	return o
}

// firstPinned is when each cluster was first seen pinned to rev.
func (o *observer) firstPinned(rev string) map[string]time.Time {
	return o.first(func(a flotillav1.Application) bool { return a.Spec.Source.TargetRevision == rev })
}

// firstSettled is when each cluster was first seen Synced and Healthy at rev.
func (o *observer) firstSettled(rev string) map[string]time.Time {
	return o.first(func(a flotillav1.Application) bool {
		return a.Status.Sync.Revision == rev && a.Status.Sync.Status == flotillav1.SyncStatusSynced && a.Status.Health.Status == flotillav1.HealthHealthy
	})
}

func (o *observer) first(cond func(flotillav1.Application) bool) map[string]time.Time {
	out := map[string]time.Time{}
	for _, s := range o.samples {
		for c, a := range s.apps {
			if _, seen := out[c]; !seen && cond(a) {
				out[c] = s.at
			}
		}
	}
	return out
}

// maxMoving is the most clusters of the last wave on their way to rev at
// once: a cluster is on its way from when it was first seen pinned to rev
// until it was first seen Synced and Healthy there (what maxParallel
// bounds; a cluster whose health dips later is not moving again).
func (o *observer) maxMoving(_ string, rev string) int {
	pinned, settled := o.firstPinned(rev), o.firstSettled(rev)
	most := 0
	for _, s := range o.samples {
		n := 0
		for _, c := range []string{"c3", "c4"} {
			p, ok := pinned[c]
			if ok && !s.at.Before(p) && (settled[c].IsZero() || s.at.Before(settled[c])) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// sawWaves says whether some look read every "wave=Phase" of want.
func (o *observer) sawWaves(want string) bool {
	for _, s := range o.samples {
		have := strings.Fields(s.waves)
		all := true
		for _, w := range strings.Fields(want) {
			all = all && slices.Contains(have, w)
		}
		if all {
			return true
		}
	}
	return false
}

func (o *observer) waveLines() []string {
	var out []string
	for _, s := range o.samples {
		if len(out) == 0 || out[len(out)-1] != s.waves {
			out = append(out, s.waves)
		}
	}
	return out
}

// workloadClient is a client of workload cluster dev-i.
func workloadClient(t *testing.T, i int) client.Client {
	t.Helper()
	c, err := client.New(env.Fleet.Clusters[i].RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// webhooks records the notifications a local webhook receives.
type webhooks struct {
	mu   sync.Mutex
	seen []notify.Event
}

// receiveWebhooks starts a local webhook and a Notification of events that
// sends to it, until the test ends.
func receiveWebhooks(t *testing.T, events ...string) *webhooks {
	t.Helper()
	w := &webhooks{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var ev notify.Event
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err == nil {
			w.mu.Lock()
			w.seen = append(w.seen, ev)
			w.mu.Unlock()
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	n := &flotillav1.Notification{
		ObjectMeta: metav1.ObjectMeta{Name: "rollouts", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.NotificationSpec{
			Events:   events,
			Fleets:   []string{"shop"},
			Provider: flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.URL},
		},
	}
	if err := env.Client.Create(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), n) })
	return w
}

// wait waits for a notification of event and returns it.
func (w *webhooks) wait(t *testing.T, event string) notify.Event {
	t.Helper()
	var got notify.Event
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, ev := range w.seen {
			if ev.Name == event {
				got = ev
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s notification reached the webhook: %v", event, err)
	}
	return got
}
