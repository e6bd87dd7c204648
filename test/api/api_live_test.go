package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestAPILive: the tree, resource, diff, events and logs routes through
// HTTP against an Application on a registered cluster. Each answers for the
// Application's own objects only (404 for anything else), checks
// applications:get, and logs:get for logs; a Project role without
// applications:get, and a user of no Project, get 404 for all of it. The
// synced Secret's value appears in no answer.
func TestAPILive(t *testing.T) {
	admin := adminToken(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/all.yaml": harness.LiveWorkload})
	env.RegisterCluster(t, "apilive-dev-1", "dev-1", nil)
	apiProject(t, admin, "apilive", []flotillav1.ProjectRole{
		{Name: "viewer", Groups: []string{"apilive-viewers"}, Policies: []string{"applications:get"}},
		{Name: "logs-only", Groups: []string{"apilive-loggers"}, Policies: []string{"logs:get"}},
	})
	// Inside the Project's destinations (apilive-*).
	ns := "apilive-" + harness.TestNamespace(t)
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.Destination.Cluster = "apilive-dev-1"
	// The Project allows no cluster-scoped kind: the namespace is made
	// beforehand, as a cluster's admin would.
	spec.SyncPolicy.CreateNamespace = false
	dev1, err := client.New(env.Fleet.Cluster("dev-1").RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := dev1.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dev1.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	createAPIApp(t, admin, apiApp("apilive", "apilive", nil, spec))
	env.WaitApp(t, "apilive", 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	const base = "/api/v1/applications/flotilla-system/apilive"

	var tree wire.Tree
	eventually(t, "the tree holds the Deployment's two Pods and the Service's EndpointSlice", func() bool {
		expect(t, admin, http.MethodGet, base+"/tree", nil, http.StatusOK, &tree)
		return len(harness.NodesOf(&tree, "Pod")) == 2 && len(harness.NodesOf(&tree, "EndpointSlice")) == 1
	})
	pod := harness.CheckTree(t, &tree)

	checkAPIResource(t, admin, base, ns, pod)
	checkAPIEvents(t, admin, base, ns)
	logsPath := checkAPILogs(t, admin, base, ns, pod)
	checkAPIDiff(t, admin, base, ns)

	// A viewer without logs:get reads the tree, not the logs (403: it may
	// see the Application). A role with logs:get but not applications:get,
	// and a user of no Project, do not see the Application at all: 404.
	viewer := addAccount(t, "apilive-viewer", "apilive-viewers")
	expect(t, viewer, http.MethodGet, base+"/tree", nil, http.StatusOK, nil)
	expect(t, viewer, http.MethodGet, logsPath, nil, http.StatusForbidden, nil)
	logger := addAccount(t, "apilive-logger", "apilive-loggers")
	stranger := addAccount(t, "apilive-stranger", "apilive-nobody")
	for _, tok := range []string{logger, stranger} {
		for _, p := range []string{base + "/tree", base + "/diff", base + "/events", logsPath,
			base + "/resource?version=v1&kind=Secret&namespace=" + ns + "&name=creds"} {
			expect(t, tok, http.MethodGet, p, nil, http.StatusNotFound, nil)
		}
	}
	if strings.Contains(recordedResponses(), harness.LiveCanary) {
		t.Errorf("the Secret's value %q appears in an API answer", harness.LiveCanary)
	}
}

// checkAPIResource: a node's manifest, a Secret's values masked, and an
// object outside the tree 404 whether it exists or not.
func checkAPIResource(t *testing.T, token, base, ns string, pod wire.ResourceNode) {
	t.Helper()
	var secret map[string]any
	expect(t, token, http.MethodGet, base+"/resource?version=v1&kind=Secret&namespace="+ns+"&name=creds", nil, http.StatusOK, &secret)
	if got, _, _ := harness.UnstructuredString(secret, "data", "token"); got != live.SecretMask {
		t.Errorf("Secret data.token = %q, want the mask", got)
	}
	if meta, _ := secret["metadata"].(map[string]any); meta == nil || meta["managedFields"] != nil {
		t.Errorf("the Secret's metadata, without managedFields: %s", harness.MustJSON(secret["metadata"]))
	}
	var p map[string]any
	expect(t, token, http.MethodGet, base+"/resource?"+url.Values{"version": {"v1"}, "kind": {"Pod"},
		"namespace": {ns}, "name": {pod.Name}}.Encode(), nil, http.StatusOK, &p)
	if name, _, _ := harness.UnstructuredString(p, "metadata", "name"); name != pod.Name {
		t.Errorf("the Pod's manifest: %s", harness.MustJSON(p))
	}
	for _, q := range []string{
		"version=v1&kind=Secret&namespace=kube-system&name=creds",     // not the Application's
		"version=v1&kind=ConfigMap&namespace=" + ns + "&name=missing", // not at all
	} {
		_, body := call(t, token, http.MethodGet, base+"/resource?"+q, nil)
		if e := errorOf(t, body); e.Code != wire.CodeNotFound {
			t.Errorf("resource %s: %s, want NotFound", q, body)
		}
	}
	expect(t, token, http.MethodGet, base+"/resource?version=v1&namespace="+ns, nil, http.StatusBadRequest, nil)
}

// checkAPIEvents: the hub's events of the Application, a node's events in
// the workload cluster, and 404 for an object outside the tree.
func checkAPIEvents(t *testing.T, token, base, ns string) {
	t.Helper()
	var events []wire.Event
	expect(t, token, http.MethodGet, base+"/events", nil, http.StatusOK, &events)
	if len(events) == 0 || events[0].Object.Kind != "Application" {
		t.Errorf("the Application's events: %s", harness.MustJSON(events))
	}
	// kube-controller-manager records the Deployment's scaling.
	eventually(t, "the Deployment's events from the workload cluster", func() bool {
		expect(t, token, http.MethodGet, base+"/events?group=apps&kind=Deployment&namespace="+ns+"&name=web", nil, http.StatusOK, &events)
		return len(events) > 0 && events[0].Object.Kind == "Deployment" && events[0].Object.Name == "web"
	})
	expect(t, token, http.MethodGet, base+"/events?version=v1&kind=ConfigMap&namespace=kube-system&name=kube-root-ca.crt", nil, http.StatusNotFound, nil)
}

// checkAPILogs: tail, masking, a follow that streams and ends at the
// server's limit, the bound on tailLines, and 404 for a pod outside the
// tree. It returns the path of a log, for the RBAC checks.
func checkAPILogs(t *testing.T, token, base, ns string, pod wire.ResourceNode) string {
	t.Helper()
	dev1 := env.Fleet.Clusters[1]
	if err := dev1.AppendPodLog("web", time.Now(), ns+" says "+harness.LiveCanary, ns+" last"); err != nil {
		t.Fatal(err)
	}
	logs := func(q url.Values) string {
		q.Set("namespace", ns)
		q.Set("pod", pod.Name)
		q.Set("container", "web")
		return base + "/logs?" + q.Encode()
	}
	logsPath := logs(url.Values{"tailLines": {"2"}})
	status, body := call(t, token, http.MethodGet, logsPath, nil)
	if want := ns + " says " + live.SecretMask + "\n" + ns + " last\n"; status != http.StatusOK || string(body) != want {
		t.Errorf("logs, tail 2: %d %q, want %q", status, body, want)
	}
	expect(t, token, http.MethodGet, logs(url.Values{"tailLines": {"100001"}}), nil, http.StatusBadRequest, nil)
	expect(t, token, http.MethodGet, logs(url.Values{"tailLines": {"-1"}}), nil, http.StatusBadRequest, nil)
	expect(t, token, http.MethodGet, base+"/logs?"+url.Values{"namespace": {"kube-system"}, "pod": {pod.Name},
		"container": {"web"}}.Encode(), nil, http.StatusNotFound, nil)

	// A server whose follows last 3 s: the follow streams the line
	// appended meanwhile, then the server ends it.
	short := startServer(t, "--log-follow-limit", "3s")
	shortAdmin, err := loginWith(short, auth.AdminAccount, initialAdminPassword())
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(time.Second)
		_ = dev1.AppendPodLog("web", time.Now(), ns+" followed")
	}()
	start := time.Now()
	got := followLogs(t, short, shortAdmin, logs(url.Values{"tailLines": {"0"}, "follow": {"true"}}), time.Minute)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("a follow limited to 3s lasted %s", took)
	}
	if !strings.Contains(got, ns+" followed\n") || strings.Contains(got, ns+" last") {
		t.Errorf("a followed log should stream only the line appended meanwhile: %q", got)
	}
	recordResponse([]byte(got))
	return logsPath
}

// checkAPIDiff: no change in a synced Application, then the Deployment's
// scale out of band, and a dry-run sync answering the same diff.
func checkAPIDiff(t *testing.T, token, base, ns string) {
	t.Helper()
	var d wire.Diff
	expect(t, token, http.MethodGet, base+"/diff", nil, http.StatusOK, &d)
	if d.Revision == "" || len(d.Resources) == 0 {
		t.Fatalf("diff: %s", harness.MustJSON(d))
	}
	for _, res := range d.Resources {
		if res.Action != wire.DiffNone {
			t.Errorf("%s %s: action %s in a synced Application: %s", res.Kind, res.Name, res.Action, res.Diff)
		}
	}
	ctx := context.Background()
	var deploy appsv1.Deployment
	if err := env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &deploy); err != nil {
		t.Fatal(err)
	}
	five := int32(5)
	deploy.Spec.Replicas = &five
	if err := env.Work.Update(ctx, &deploy); err != nil {
		t.Fatal(err)
	}
	expect(t, token, http.MethodGet, base+"/diff", nil, http.StatusOK, &d)
	var scaled *wire.ResourceDiff
	for i, res := range d.Resources {
		if res.Kind == "Deployment" {
			scaled = &d.Resources[i]
		}
	}
	if scaled == nil || scaled.Action != wire.DiffUpdate || !strings.Contains(scaled.Diff, "replicas: 5") {
		t.Errorf("the Deployment's diff after the scale: %s", harness.MustJSON(scaled))
	}
	var dry wire.Diff
	expect(t, token, http.MethodPost, base+"/sync", wire.SyncRequest{DryRun: true}, http.StatusOK, &dry)
	if dry.Revision != d.Revision || len(dry.Resources) != len(d.Resources) {
		t.Errorf("a dry-run sync answers the diff: %s", harness.MustJSON(dry))
	}
	expect(t, token, http.MethodGet, base+"/diff?revision="+strings.Repeat("a", 300), nil, http.StatusBadRequest, nil)
}

// startServer starts a server of the test's own, with args added.
func startServer(t *testing.T, args ...string) *harness.Server {
	t.Helper()
	s, err := env.StartServer(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// followLogs reads a followed log through HTTP until the server ends it,
// or for at most d.
func followLogs(t *testing.T, s *harness.Server, token, path string, d time.Duration) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("follow %s: %d", path, resp.StatusCode)
	}
	done := time.AfterFunc(d, func() { _ = resp.Body.Close() })
	defer done.Stop()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}
