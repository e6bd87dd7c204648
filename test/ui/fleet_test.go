package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/test/browser"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// fleet is what the UI's tests on real parts share: a hub and two
// workload clusters (dev-1, dev-2) from internal/localfleet with Flotilla
// installed, its controller and `flotilla server`, a git server on
// loopback, and Applications the controller really synced.
type fleet struct {
	hub *harness.Hub
	srv *harness.Server
	// admin's password, and the readonly account's.
	password, viewerPassword string
	repo                     *gitserver.Repo
	// rev is the commit the Applications synced.
	rev string
}

const (
	ns = flotillav1.DefaultNamespace
	// viewer is a local account with the built-in readonly role.
	viewer = "viewer"
	// secretValue is a Secret's value in the repository that the UI
	// must never show.
	secretValue = "hunter2-never-shown"
	// manualBranch is the branch the Application manual follows.
	manualBranch = "manual"
)

// webFiles are the Application's objects: a Deployment (which rolls out
// on kwok's nodes, with minReadySeconds so that a sync is Progressing for
// a few seconds before it is Healthy), its Service and a Secret.
func webFiles(replicas int) map[string]string { return webFilesWith(replicas, "nginx:1.27") }

// webFilesWith is webFiles with the Deployment's image.
func webFilesWith(replicas int, image string) map[string]string {
	return map[string]string{
		"web/deploy.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  minReadySeconds: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: %s
`, replicas, image),
		"web/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
		"web/secret.yaml":  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-credentials\nstringData:\n  password: " + secretValue + "\n",
	}
}

// startFleet starts the fleet for the duration of t.
func startFleet(t *testing.T) *fleet {
	t.Helper()
	browser.ExecPath(t)
	bin, err := harness.BuildFlotilla(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hub, err := harness.Start(ctx, harness.Options{Bin: bin, Clusters: 3})
	if err != nil {
		t.Fatalf("start the hub: %v", err)
	}
	t.Cleanup(func() { _ = hub.Stop() })
	f := &fleet{hub: hub, viewerPassword: "viewer-password-42"}
	f.addAccount(t)
	if f.srv, err = hub.StartServer("--readonly", viewer); err != nil {
		t.Fatalf("start flotilla server: %v", err)
	}
	var sec corev1.Secret
	if err := hub.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: auth.InitialAdminSecret}, &sec); err != nil {
		t.Fatalf("the admin's first password: %v", err)
	}
	f.password = string(sec.Data["password"])

	for i, name := range []string{"dev-1", "dev-2"} {
		f.addCluster(t, name, map[string]string{"env": []string{"staging", "prod"}[i]})
	}
	root := t.TempDir()
	f.repo = gitserver.NewRepo(t, root, "fleet")
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	f.rev = f.repo.Commit("main", webFiles(1))
	for _, c := range []string{"dev-1", "dev-2"} {
		f.createApp(t, "web-"+c, git.URL("fleet"), "main", c, true)
	}
	// manual syncs only when asked, as `flotilla app sync` asks, and
	// follows a branch of its own, so that the application page's test
	// moves it alone.
	f.repo.Branch(manualBranch, f.rev)
	f.createApp(t, "manual", git.URL("fleet"), manualBranch, "dev-1", false)
	for _, name := range []string{"web-dev-1", "web-dev-2"} {
		f.waitApp(t, name, "Synced and Healthy", func(a *flotillav1.Application) bool {
			return a.Status.Sync.Status == flotillav1.SyncStatusSynced && a.Status.Health.Status == flotillav1.HealthHealthy && a.Status.Sync.Revision == f.rev
		})
	}
	f.waitApp(t, "manual", "compared", func(a *flotillav1.Application) bool { return a.Status.Sync.Status == flotillav1.SyncStatusOutOfSync })
	return f
}

func (f *fleet) addAccount(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: auth.AccountsName}, Data: map[string]string{viewer: ""}}
	if err := f.hub.Client.Create(ctx, cm); err != nil {
		t.Fatalf("accounts: %v", err)
	}
	if err := auth.SetPassword(ctx, f.hub.Client, ns, viewer, f.viewerPassword); err != nil {
		t.Fatalf("the viewer's password: %v", err)
	}
}

func (f *fleet) addCluster(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	kc, err := f.hub.Fleet.Cluster(name).Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cluster-" + name}, Data: map[string][]byte{"kubeconfig": kc}}
	c := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: sec.Name}},
	}
	for _, obj := range []client.Object{sec, c} {
		if err := f.hub.Client.Create(ctx, obj); err != nil {
			t.Fatalf("cluster %s: %v", name, err)
		}
	}
}

func (f *fleet) createApp(t *testing.T, name, url, branch, cluster string, automated bool) {
	t.Helper()
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: flotillav1.ApplicationSpec{
			Project:     "default",
			Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: branch, Path: "web"},
			Destination: flotillav1.Destination{Cluster: cluster, Namespace: "ui-" + name},
			SyncPolicy: flotillav1.SyncPolicy{
				CreateNamespace: true,
				Interval:        &metav1.Duration{Duration: 5 * time.Second},
			},
		},
	}
	if automated {
		app.Spec.SyncPolicy.Automated = &flotillav1.AutomatedSync{Prune: true, SelfHeal: true}
	}
	if err := f.hub.Client.Create(context.Background(), app); err != nil {
		t.Fatalf("application %s: %v", name, err)
	}
}

// app reads an Application from the hub.
func (f *fleet) app(t *testing.T, name string) *flotillav1.Application {
	t.Helper()
	a := &flotillav1.Application{}
	if err := f.hub.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, a); err != nil {
		t.Fatalf("application %s: %v", name, err)
	}
	return a
}

// waitApp waits up to 3 minutes until cond holds for the Application.
func (f *fleet) waitApp(t *testing.T, name, what string, cond func(*flotillav1.Application) bool) *flotillav1.Application {
	t.Helper()
	a := &flotillav1.Application{}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		// Not there yet is as good as not ready: a Fleet makes its
		// Applications a moment after it is created.
		err := f.hub.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, a)
		if err == nil && cond(a) {
			return a
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("application %s: %v", name, err)
		}
	}
	t.Fatalf("application %s not %s in 3 minutes: sync %s, health %s %q, conditions %+v\n%s", name, what,
		a.Status.Sync.Status, a.Status.Health.Status, a.Status.Health.Message, a.Status.Conditions, f.hub.ControllerLogTail(30))
	return nil
}

// annotate sets an annotation on an Application in the hub, as the CLI's
// `flotilla app sync` and `refresh` do through the API.
func (f *fleet) annotate(t *testing.T, name, key string) string {
	t.Helper()
	value := fmt.Sprintf("%d", time.Now().UnixNano())
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := f.hub.Client.Patch(context.Background(), app, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("annotate %s: %v", name, err)
	}
	return value
}

// commitAuthor is the author gitserver writes every commit with.
const commitAuthor = "Flotilla Test <test@flotilla.invalid>"

// commitMessage is the subject of a commit of the fleet's repository, as
// git reads it.
func (f *fleet) commitMessage(t *testing.T, rev string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", f.repo.Dir, "log", "-1", "--format=%s", rev).Output()
	if err != nil {
		t.Fatalf("git log %s: %v", rev, err)
	}
	return strings.TrimSpace(string(out))
}
