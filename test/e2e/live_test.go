package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/internal/source"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// newLiveReader reads through dev-1's registered credentials, and diffs
// with an engine of its own whose clients it shares, as the server does.
func newLiveReader(t *testing.T, limits live.Limits) *live.Reader {
	t.Helper()
	registry := cluster.NewRegistry(env.Client, env.Config, cluster.DefaultOptions())
	srcOpts := source.DefaultOptions()
	srcOpts.AllowLocal, srcOpts.AllowLoopback, srcOpts.CacheDir = true, true, t.TempDir()
	sources, err := source.New(srcOpts)
	if err != nil {
		t.Fatal(err)
	}
	projects := project.DefaultOptions()
	projects.OwnNamespace = flotillav1.DefaultNamespace
	engOpts := engine.DefaultOptions()
	engOpts.Project, engOpts.RequestTimeout = projects, limits.RequestTimeout
	eng := engine.New(sources, render.New(render.DefaultOptions()), registry, engOpts)
	t.Cleanup(eng.Close)
	return live.New(live.Options{Hub: env.Client, Clusters: registry, Clients: eng, Previewer: eng, Projects: projects, Limits: limits})
}

// TestLiveViews: the tree of an Application on a registered cluster holds
// its Deployment's ReplicaSet and Pods and its Service's EndpointSlice, with
// health; an object outside the tree is NotFound like a missing one; a diff
// shows an out-of-band change; events and logs are those of the tree's
// objects; the synced Secret's value appears in none of the answers.
func TestLiveViews(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/all.yaml": harness.LiveWorkload})
	env.RegisterCluster(t, "live-dev-1", "dev-1", nil)
	ns := harness.TestNamespace(t)
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.Destination.Cluster = "live-dev-1"
	newApp(t, "live", spec)
	app := env.WaitApp(t, "live", 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	r := newLiveReader(t, live.Limits{})
	var seen bytes.Buffer // every answer, to search for the canary

	tree := waitTree(t, r, app, &seen)
	pod := harness.CheckTree(t, tree)
	checkResource(t, r, app, ns, pod, &seen)
	// Events and logs first: the diff changes the Secret out of band, and
	// text is masked with the values the Secret holds when it is read.
	checkEvents(t, r, app, ns, &seen)
	checkLogs(t, app, ns, pod, &seen)
	checkDiff(t, r, app, ns, &seen)
	if strings.Contains(seen.String(), harness.LiveCanary) {
		t.Errorf("the Secret's value %q appears in a live answer", harness.LiveCanary)
	}
}

// waitTree waits until the tree holds 2 Pods and an EndpointSlice.
func waitTree(t *testing.T, r *live.Reader, app *flotillav1.Application, seen *bytes.Buffer) *wire.Tree {
	t.Helper()
	var tree *wire.Tree
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		if tree, err = r.Tree(ctx, app); err != nil {
			return false, err
		}
		return len(harness.NodesOf(tree, "Pod")) == 2 && len(harness.NodesOf(tree, "EndpointSlice")) == 1, nil
	})
	record(seen, tree)
	if err != nil {
		t.Fatalf("tree: %v\n%s", err, harness.MustJSON(tree))
	}
	return tree
}

func checkResource(t *testing.T, r *live.Reader, app *flotillav1.Application, ns string, pod wire.ResourceNode, seen *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	secret, err := r.Resource(ctx, app, wire.ObjectRef{Version: "v1", Kind: "Secret", Namespace: ns, Name: "creds"})
	if err != nil {
		t.Fatal(err)
	}
	record(seen, secret.Object)
	if got, _, _ := harness.UnstructuredString(secret.Object, "data", "token"); got != live.SecretMask {
		t.Errorf("Secret data.token = %q, want the mask", got)
	}
	if secret.GetManagedFields() != nil {
		t.Error("managedFields should be left out")
	}
	p, err := r.Resource(ctx, app, pod.ObjectRef)
	if err != nil || p.GetName() != pod.Name {
		t.Fatalf("a Pod of the tree: %v", err)
	}
	// An object of the namespace that the Application does not own, and one
	// that does not exist, get the same answer.
	stray := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns}, Data: map[string]string{"k": "v"}}
	if err := env.Work.Create(ctx, stray); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stray", "missing"} {
		_, err := r.Resource(ctx, app, wire.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: name})
		if !errors.Is(err, live.ErrNotFound) {
			t.Errorf("ConfigMap %s: err = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := r.Resource(ctx, app, wire.ObjectRef{Group: "apps", Kind: "Deployment", Namespace: "kube-system", Name: "web"}); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("a Deployment of another namespace: err = %v, want ErrNotFound", err)
	}
}

func checkDiff(t *testing.T, r *live.Reader, app *flotillav1.Application, ns string, seen *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	d, err := r.Diff(ctx, app, "")
	if err != nil {
		t.Fatal(err)
	}
	record(seen, d)
	if d.Revision == "" || len(d.Resources) != 4 { // the Namespace too: createNamespace
		t.Fatalf("diff in sync: %s", harness.MustJSON(d))
	}
	for _, res := range d.Resources {
		if res.Action != wire.DiffNone {
			t.Errorf("%s %s: action %s in a synced Application: %s", res.Kind, res.Name, res.Action, res.Diff)
		}
	}
	// Out of band: scale the Deployment and change the Secret's value.
	var deploy appsv1.Deployment
	if err := env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &deploy); err != nil {
		t.Fatal(err)
	}
	five := int32(5)
	deploy.Spec.Replicas = &five
	if err := env.Work.Update(ctx, &deploy); err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	if err := env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["token"] = []byte(harness.LiveCanary + "-changed")
	if err := env.Work.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	d, err = r.Diff(ctx, app, "")
	if err != nil {
		t.Fatal(err)
	}
	record(seen, d)
	got := map[string]wire.ResourceDiff{}
	for _, res := range d.Resources {
		got[res.Kind] = res
	}
	if dd := got["Deployment"]; dd.Action != wire.DiffUpdate || !strings.Contains(dd.Diff, "-  replicas: 5") || !strings.Contains(dd.Diff, "+  replicas: 2") {
		t.Errorf("Deployment diff after the scale: %s\n%s", dd.Action, dd.Diff)
	}
	if sd := got["Secret"]; sd.Action != wire.DiffUpdate || !strings.Contains(sd.Diff, "token:") {
		t.Errorf("Secret diff after the change: %s\n%s", sd.Action, sd.Diff)
	}
}

func checkEvents(t *testing.T, r *live.Reader, app *flotillav1.Application, ns string, seen *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	events, err := r.Events(ctx, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	record(seen, events)
	if len(events) == 0 || events[0].Object.Kind != "Application" {
		t.Errorf("the Application's events: %s", harness.MustJSON(events))
	}
	// An event of the Secret whose message quotes its value.
	var secret corev1.Secret
	if err := env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &secret); err != nil {
		t.Fatal(err)
	}
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "creds-leak", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: ns, Name: "creds", UID: secret.UID},
		Type:           corev1.EventTypeWarning, Reason: "Leaky",
		Message:       "token was " + harness.LiveCanary + " before " + harness.LiveCanary + "-changed",
		LastTimestamp: metav1.Now(), FirstTimestamp: metav1.Now(), Count: 1,
	}
	if err := env.Work.Create(ctx, ev); err != nil {
		t.Fatal(err)
	}
	events, err = r.Events(ctx, app, &wire.ObjectRef{Version: "v1", Kind: "Secret", Namespace: ns, Name: "creds"})
	if err != nil {
		t.Fatal(err)
	}
	record(seen, events)
	if len(events) != 1 || events[0].Reason != "Leaky" || !strings.Contains(events[0].Message, live.SecretMask) {
		t.Errorf("the Secret's events: %s", harness.MustJSON(events))
	}
	if _, err := r.Events(ctx, app, &wire.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "stray"}); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("events of an object outside the tree: err = %v, want ErrNotFound", err)
	}
}

func checkLogs(t *testing.T, app *flotillav1.Application, ns string, pod wire.ResourceNode, seen *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	dev1 := env.Fleet.Clusters[1]
	tag := ns // lines of this test only
	old := time.Now().Add(-time.Hour)
	if err := dev1.AppendPodLog("web", old, tag+" old line"); err != nil {
		t.Fatal(err)
	}
	if err := dev1.AppendPodLog("web", time.Now(), tag+" one", tag+" secret "+harness.LiveCanary, tag+" three"); err != nil {
		t.Fatal(err)
	}
	if err := dev1.AppendPodLog("sidecar", time.Now(), tag+" sidecar says hi"); err != nil {
		t.Fatal(err)
	}
	r := newLiveReader(t, live.Limits{})
	logs := func(r *live.Reader, o live.LogOptions) string {
		t.Helper()
		o.Namespace, o.Pod = ns, pod.Name
		var b bytes.Buffer
		if err := r.Logs(ctx, app, o, &b); err != nil {
			t.Fatalf("logs %+v: %v", o, err)
		}
		seen.Write(b.Bytes())
		return b.String()
	}
	two, minute := int64(2), int64(60)
	if got, want := logs(r, live.LogOptions{Container: "web", TailLines: &two}), tag+" secret "+live.SecretMask+"\n"+tag+" three\n"; got != want {
		t.Errorf("tail 2 = %q, want %q", got, want)
	}
	if got := logs(r, live.LogOptions{Container: "web", SinceSeconds: &minute}); strings.Contains(got, tag+" old line") || !strings.Contains(got, tag+" one") {
		t.Errorf("since 60s should leave the hour-old line out: %q", got)
	}
	if got := logs(r, live.LogOptions{Container: "sidecar", TailLines: &two}); !strings.Contains(got, tag+" sidecar says hi") || strings.Contains(got, tag+" one") {
		t.Errorf("the sidecar's log: %q", got)
	}
	var b bytes.Buffer
	if err := r.Logs(ctx, app, live.LogOptions{Namespace: ns, Pod: pod.Name}, &b); !errors.Is(err, live.ErrBadRequest) {
		t.Errorf("no container named in a pod of two: err = %v, want ErrBadRequest", err)
	}
	if err := r.Logs(ctx, app, live.LogOptions{Namespace: "kube-system", Pod: pod.Name, Container: "web"}, &b); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("a pod outside the tree: err = %v, want ErrNotFound", err)
	}

	// Bounded in bytes, and a follow ends at its limit of time.
	small := newLiveReader(t, live.Limits{MaxLogBytes: 64, MaxFollow: 3 * time.Second})
	if got := logs(small, live.LogOptions{Container: "web"}); len(got) > 64 || len(got) == 0 {
		t.Errorf("a log of at most 64 bytes: %d bytes", len(got))
	}
	followed := newLiveReader(t, live.Limits{MaxFollow: 3 * time.Second})
	go func() {
		time.Sleep(time.Second)
		_ = dev1.AppendPodLog("web", time.Now(), tag+" while following")
	}()
	start := time.Now()
	got := logs(followed, live.LogOptions{Container: "web", TailLines: &two, Follow: true})
	if took := time.Since(start); took < 2*time.Second || took > 20*time.Second {
		t.Errorf("a follow limited to 3s took %s", took)
	}
	if !strings.Contains(got, tag+" while following") {
		t.Errorf("the follow should show the line appended meanwhile: %q", got)
	}
}

func record(b *bytes.Buffer, v any) { b.WriteString(harness.MustJSON(v)) }
