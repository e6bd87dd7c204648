package hooks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// dialect is how a repository says phases and waves.
type dialect struct {
	name string
	// phase and wave are the annotations, as YAML map entries.
	phase func(p string) string
	wave  func(w int) string
}

var (
	flotillaDialect = dialect{
		name:  "flotilla",
		phase: func(p string) string { return "flotilla.dev/phase: " + p },
		wave:  func(w int) string { return fmt.Sprintf("flotilla.dev/wave: %q", fmt.Sprint(w)) },
	}
	argoDialect = dialect{
		name:  "argocd",
		phase: func(p string) string { return "argocd.argoproj.io/hook: " + p },
		wave:  func(w int) string { return fmt.Sprintf("argocd.argoproj.io/sync-wave: %q", fmt.Sprint(w)) },
	}
)

// job is a hook Job with a generated name; fail makes its pod fail.
func job(prefix, annotation string, fail bool) string {
	podAnnotations := "{}"
	if fail {
		podAnnotations = fmt.Sprintf("{%s: \"true\"}", localfleet.FailAnnotation)
	}
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  generateName: %s
  annotations: {%s}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: %s
    spec:
      restartPolicy: Never
      containers: [{name: run, image: registry.example/tools:1}]
`, prefix, annotation, podAnnotations)
}

// web is wave w's Deployment and Service, both named web-w.
func web(d dialect, w int, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%[1]d
  annotations: {%[2]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%[1]d}}
  template:
    metadata: {labels: {app: web-%[1]d}}
    spec:
      containers: [{name: web, image: %[3]s}]
---
apiVersion: v1
kind: Service
metadata:
  name: web-%[1]d
  annotations: {%[2]s}
spec:
  selector: {app: web-%[1]d}
  ports: [{port: 80, targetPort: 8080}]
`, w, d.wave(w), image)
}

// phasedRepo is an application of a PreSync Job, three waves of a
// Deployment and a Service each (listed last wave first, so that only the
// waves can order them), a PostSync Job and a SyncFail Job.
func phasedRepo(d dialect, image string, failPostSync bool) map[string]string {
	return map[string]string{
		"app/a-web-2.yaml":  web(d, 2, image),
		"app/b-web-1.yaml":  web(d, 1, image),
		"app/c-web-0.yaml":  web(d, 0, image),
		"app/migrate.yaml":  job("migrate-", d.phase("PreSync"), false),
		"app/smoke.yaml":    job("smoke-", d.phase("PostSync"), failPostSync),
		"app/notify.yaml":   job("notify-", d.phase("SyncFail"), false),
		"app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
	}
}

func TestPhasesAndWaves(t *testing.T) { phasesStory(t, flotillaDialect) }

// TestPhasesAndWavesArgoCD: the same repository written with Argo CD's
// annotations behaves identically.
func TestPhasesAndWavesArgoCD(t *testing.T) { phasesStory(t, argoDialect) }

// phasesStory: the PreSync Job completes before wave 0 is created; each
// wave is created once the one before is Available; the PostSync Job runs
// last. A sync with no change runs no hook. A failing PostSync Job fails the
// sync, names the Job, and runs the SyncFail Job.
func phasesStory(t *testing.T, d dialect) {
	ns := "hooks-" + d.name
	rec := record(t, ns)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", phasedRepo(d, "registry.example/web:1", false))
	name := "phases-" + d.name
	progress := watchProgress(t, name)
	newApp(t, name, appSpec(srv.URL("fleet"), "app", ns))

	app := env.WaitApp(t, name, 3*time.Minute, "Synced and Healthy at the first commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == first && a.Status.Health.Status == flotillav1.HealthHealthy &&
			a.Status.Operation != nil && a.Status.Operation.Phase == flotillav1.OperationSucceeded
	})
	if op := app.Status.Operation; op.SyncPhase != "PostSync" || op.SyncWave == nil || *op.SyncWave != 0 {
		t.Errorf("operation ended in phase %q wave %v, want PostSync wave 0", op.SyncPhase, op.SyncWave)
	}
	checkProgress(t, progress())
	for _, r := range app.Status.Resources {
		if r.Kind == "Job" {
			t.Errorf("hook %s/%s is in the inventory: hooks are neither owned nor pruned", r.Kind, r.Name)
		}
	}
	waitFor(t, "the PostSync Job to be seen complete", func() bool { return len(rec.find("Job", "smoke-", ready)) == 1 })

	// The watch: the PreSync Job completed before wave 0 was created, each
	// wave was Available before the next was created, and the PostSync Job
	// was created after the last wave was Available.
	migrate := rec.one(t, "Job", "migrate-", "created", created)
	migrated := rec.one(t, "Job", "migrate-", "complete", ready)
	prevReady := migrated
	for w := range 3 {
		dep := rec.one(t, "Deployment", fmt.Sprintf("web-%d", w), "created", created)
		svc := rec.one(t, "Service", fmt.Sprintf("web-%d", w), "created", created)
		for _, obj := range []seen{dep, svc} {
			if obj.rv < prevReady.rv {
				t.Errorf("%s %s was created (rv %d) before %s %s was ready (rv %d)", obj.kind, obj.name, obj.rv, prevReady.kind, prevReady.name, prevReady.rv)
			}
			if obj.creation.Before(&prevReady.creation) {
				t.Errorf("%s %s was created at %s, before %s %s at %s", obj.kind, obj.name, obj.creation, prevReady.kind, prevReady.name, prevReady.creation)
			}
		}
		prevReady = rec.one(t, "Deployment", fmt.Sprintf("web-%d", w), "Available", ready)
	}
	smoke := rec.one(t, "Job", "smoke-", "created", created)
	if smoke.rv < prevReady.rv {
		t.Errorf("the PostSync Job was created (rv %d) before wave 2 was Available (rv %d)", smoke.rv, prevReady.rv)
	}
	if migrate.creation.After(smoke.creation.Time) {
		t.Errorf("the PreSync Job was created after the PostSync Job")
	}
	if n := len(rec.find("Job", "notify-", created)); n != 0 {
		t.Errorf("a sync that succeeded ran %d SyncFail Jobs", n)
	}

	// A sync that changes nothing runs no hook.
	before := hookJobs(t, ns)
	requestSync(t, name)
	if after := hookJobs(t, ns); after != before {
		t.Errorf("a sync without change ran hooks: Jobs before %v, after %v", before, after)
	}
	if n := len(rec.find("Job", "", created)); n != 2 {
		t.Errorf("%d hook Jobs were created in all, want the PreSync and PostSync ones", n)
	}

	// A change whose PostSync Job fails: the sync fails naming the Job, and
	// the SyncFail Job runs.
	second := repo.Commit("main", phasedRepo(d, "registry.example/web:2", true))
	failedInPostSync := func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		op := a.Status.Operation
		return a.Status.Sync.Revision == second && c != nil && c.Status == metav1.ConditionFalse && c.Reason == flotillav1.ReasonHookFailed &&
			op != nil && op.Phase == flotillav1.OperationFailed && op.SyncPhase == "PostSync"
	}
	app = env.WaitApp(t, name, 3*time.Minute, "failed in its PostSync hook", failedInPostSync)
	msg := harness.ReadyCondition(app).Message
	if !strings.Contains(msg, "PostSync") || !strings.Contains(msg, "Job/"+ns+"/smoke-") || !strings.Contains(msg, "SyncFail hooks completed") {
		t.Errorf("Ready message %q: want it to name the PostSync phase, the failed Job and the SyncFail hooks", msg)
	}
	if n := len(rec.find("Job", "smoke-", failedJob)); n < 1 {
		t.Errorf("%d PostSync Jobs failed, want at least 1", n)
	}
	waitFor(t, "the SyncFail Job to be seen complete", func() bool { return len(rec.find("Job", "notify-", ready)) >= 1 })
	if n := len(rec.find("Job", "migrate-", created)); n < 2 {
		t.Errorf("%d PreSync Jobs were created, want one per sync that changed something", n)
	}
	if history := app.Status.History; len(history) == 0 || history[len(history)-1].Revision == second {
		t.Errorf("history %v: the failed revision must not be recorded as deployed", history)
	}
	if n := countPrefix(hookJobNames(t, ns), "migrate-"); n != 1 {
		t.Errorf("%d PreSync Jobs remain; BeforeHookCreation keeps the last only", n)
	}

	// Its one retry spent, the sync stays failed through later resyncs: it
	// is never reported a success without its hooks, and runs them no more
	// (the retry may still be running its SyncFail hook at first).
	waitFor(t, "the retry to be spent", func() bool { return len(rec.find("Job", "smoke-", failedJob)) >= 2 })
	smokes := len(rec.find("Job", "smoke-", created))
	deadline := time.Now().Add(8 * appInterval)
	for time.Now().Before(deadline) {
		a := &flotillav1.Application{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, a); err != nil {
			t.Fatal(err)
		}
		if c := harness.ReadyCondition(a); c == nil || c.Status != metav1.ConditionFalse || a.Status.Operation == nil || a.Status.Operation.Phase == flotillav1.OperationSucceeded {
			t.Fatalf("after its retries were spent the sync reads Ready %v, operation %+v: want it to stay failed\ncontroller log:\n%s", c, a.Status.Operation, env.ControllerLogTail(30))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := len(rec.find("Job", "smoke-", created)); n != smokes {
		t.Errorf("%d PostSync Jobs were created after the retries were spent, want none", n-smokes)
	}
}

// appInterval is the sync interval of the stories' Applications.
const appInterval = 2 * time.Second

// appSpec syncs path of url into ns of the hub, automated, every 2s.
func appSpec(url, path, ns string) flotillav1.ApplicationSpec {
	return flotillav1.ApplicationSpec{
		Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: path},
		Destination: flotillav1.Destination{Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: true},
			CreateNamespace: true,
			Interval:        &metav1.Duration{Duration: appInterval},
			Retry:           &flotillav1.RetryPolicy{Limit: 1, Backoff: &flotillav1.Backoff{Duration: &metav1.Duration{Duration: 2 * time.Second}}},
		},
	}
}

func newApp(t *testing.T, name string, spec flotillav1.ApplicationSpec) {
	t.Helper()
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec:       spec,
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatalf("create Application %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), app) })
}

// requestSync asks for a sync through the sync annotation and waits until
// the controller handled it.
func requestSync(t *testing.T, name string) {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	app := &flotillav1.Application{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(app.DeepCopy())
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	app.Annotations[flotillav1.SyncAnnotation] = token
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	env.WaitApp(t, name, time.Minute, "sync request handled", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledSync == token && harness.Synced(a)
	})
}

// hookJobs is the names and uids of the Jobs in ns, as one string.
func hookJobs(t *testing.T, ns string) string {
	t.Helper()
	var list batchv1.JobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, j := range list.Items {
		parts = append(parts, j.Name+"="+string(j.UID))
	}
	return strings.Join(parts, ",")
}

func hookJobNames(t *testing.T, ns string) []string {
	t.Helper()
	var list batchv1.JobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			out = append(out, j.Name)
		}
	}
	return out
}

func countPrefix(names []string, prefix string) int {
	n := 0
	for _, s := range names {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// watchProgress polls the Application's operation while the test runs and
// returns a function that gives the (phase, wave) steps seen Running, in
// order, without repeats.
func watchProgress(t *testing.T, name string) func() []string {
	var mu sync.Mutex
	var steps []string
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			app := &flotillav1.Application{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err == nil {
				if op := app.Status.Operation; op != nil && op.Phase == flotillav1.OperationRunning && op.SyncPhase != "" && op.SyncWave != nil {
					step := fmt.Sprintf("%s/%d", op.SyncPhase, *op.SyncWave)
					mu.Lock()
					if len(steps) == 0 || steps[len(steps)-1] != step {
						steps = append(steps, step)
					}
					mu.Unlock()
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(steps)
	}
}

// checkProgress checks that status showed the sync's steps as they ran:
// some were seen, all are steps of the application, in the order they run.
func checkProgress(t *testing.T, seen []string) {
	t.Helper()
	order := []string{"PreSync/0", "Sync/0", "Sync/1", "Sync/2", "PostSync/0"}
	last := -1
	for _, s := range seen {
		i := slices.Index(order, s)
		if i < 0 || i <= last {
			t.Errorf("status showed the steps %v; want steps of %v, in that order", seen, order)
			return
		}
		last = i
	}
	if len(seen) < 2 {
		t.Errorf("status showed the steps %v while the sync ran; want most of %v", seen, order)
	}
}
