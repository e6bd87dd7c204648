package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestBootstrapManagesItself is the story of `flotilla bootstrap git`: it
// commits Flotilla's manifests to a folder of a repository behind a
// password over https with a private CA, installs Flotilla, and the controller (a process with the
// installed ServiceAccount's token, since the local clusters run no
// containers) syncs itself from Git. Running bootstrap again commits
// nothing; a patch committed to the folder's kustomization changes the
// controller's own Deployment; the password never shows.
func TestBootstrapManagesItself(t *testing.T) {
	const ns = "bootstrap-e2e"
	const password = "bootstrap-canary-4b1d"
	ctx := context.Background()
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "ops", Password: password, TLS: true})
	repo := gitserver.NewRepo(t, root, "fleet")
	repo.Commit("main", map[string]string{"README.md": "the fleet\n"})
	dir := t.TempDir()
	pwFile, caFile := filepath.Join(dir, "password"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, srv.CACert(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"bootstrap", "git", "--url", srv.URL("fleet"), "--branch", "main", "--path", "clusters/hub",
		"--username", "ops", "--password-file", pwFile, "--ca-file", caFile, "--namespace", ns, "--allow-local-repos", "--wait=false",
		"--kubeconfig", env.Fleet.Kubeconfig(), "--context", env.Fleet.Clusters[0].Name}
	out := harness.MustRun(t, flotillaBin, args...)
	for _, want := range []string{"committed Flotilla's manifests", "Deployment/flotilla-controller applied", "Secret/flotilla-bootstrap-git applied", "Project/flotilla applied", "Application/flotilla applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("bootstrap output lacks %q:\n%s", want, out)
		}
	}
	t.Cleanup(func() { releaseAll(ns) })
	head := repo.Head("main")
	for _, f := range []string{"README.md", "clusters/hub/flotilla-system/components.yaml", "clusters/hub/flotilla-system/sync.yaml", "clusters/hub/flotilla-system/kustomization.yaml"} {
		if _, err := gitShow(repo, head, f); err != nil {
			t.Errorf("the bootstrap commit lacks %s: %v", f, err)
		}
	}

	kc := serviceAccountKubeconfig(t, ns, "flotilla-controller")
	replica, err := env.StartReplica("bootstrapped", "--kubeconfig", kc, "--context", "sa", "--namespace", ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Stop)
	// Deleting the Application while its controller runs orphans what it
	// owns: Flotilla stays installed (and the shared CRDs stay unlabelled).
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "flotilla"}})
		_ = wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flotilla"}, &flotillav1.Application{})
			return err != nil, nil
		})
	})
	defer func() {
		if t.Failed() {
			t.Logf("the bootstrapped controller's log:\n%s", tail(replica.Log(), 40))
		}
	}()
	waitAppIn(t, ns, "flotilla", "Flotilla synced from Git", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == head
	})

	// Again: nothing to commit, nothing changes.
	again := harness.MustRun(t, flotillaBin, args...)
	if !strings.Contains(again, "already") || repo.Head("main") != head {
		t.Errorf("a second bootstrap committed (head %s, was %s):\n%s", repo.Head("main"), head, again)
	}

	// Configure the controller in Git: a patch adds --verbose to its
	// arguments, and the running Flotilla applies it to itself.
	files := map[string]string{}
	for _, f := range []string{"README.md", "clusters/hub/flotilla-system/components.yaml", "clusters/hub/flotilla-system/sync.yaml"} {
		files[f], err = gitShow(repo, head, f)
		if err != nil {
			t.Fatal(err)
		}
	}
	kustomization, err := gitShow(repo, head, "clusters/hub/flotilla-system/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files["clusters/hub/flotilla-system/kustomization.yaml"] = kustomization + `patches:
- target: {kind: Deployment, name: flotilla-controller}
  patch: |
    - op: add
      path: /spec/template/spec/containers/0/args/-
      value: --verbose
`
	verbose := repo.Commit("main", files)
	var app flotillav1.Application
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flotilla"}, &app); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(app.DeepCopy())
	metav1.SetMetaDataAnnotation(&app.ObjectMeta, flotillav1.RefreshAnnotation, verbose)
	if err := env.Client.Patch(ctx, &app, patch); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var d appsv1.Deployment
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flotilla-controller"}, &d); err != nil {
			return false, nil
		}
		return slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--verbose"), nil
	})
	if err != nil {
		t.Fatalf("the controller's Deployment never got --verbose from commit %s", verbose)
	}

	// The password lives in the hub's Secret alone: not in Git, not in any
	// output or log.
	var secret corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flotilla-bootstrap-git"}, &secret); err != nil || string(secret.Data["password"]) != password {
		t.Errorf("the credentials Secret: %v", err)
	}
	for _, f := range []string{"clusters/hub/flotilla-system/components.yaml", "clusters/hub/flotilla-system/sync.yaml"} {
		if strings.Contains(files[f], password) {
			t.Errorf("%s in Git holds the password", f)
		}
	}
	for what, text := range map[string]string{"bootstrap output": out + again, "controller log": replica.Log()} {
		if strings.Contains(text, password) {
			t.Errorf("the %s shows the password", what)
		}
	}
}

// gitShow reads a file of a commit of a served repository.
func gitShow(repo *gitserver.Repo, commit, file string) (string, error) {
	out, err := exec.Command("git", "--git-dir", repo.Dir, "show", commit+":"+file).Output()
	return string(out), err
}

func tail(s string, lines int) string {
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
