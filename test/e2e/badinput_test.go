package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestBadInput: each kind of bad input turns its Application's Ready
// condition False with a reason and a message naming the cause, applies
// nothing of that sync, prunes nothing, and leaves the controller syncing
// every other Application.
func TestBadInput(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})

	// A healthy neighbour that must keep syncing throughout.
	neighbourRepo := gitserver.NewRepo(t, root, "neighbour")
	neighbourRepo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	neighbourNS := harness.TestNamespace(t) + "-neighbour"
	newApp(t, "neighbour", harness.PlainApp(srv.URL("neighbour"), "app", neighbourNS))
	env.WaitApp(t, "neighbour", 2*time.Minute, "Synced", harness.Synced)

	outside := t.TempDir() + "/secret.yaml"
	writeFile(t, outside, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  canary: outside-canary-5521\n")

	cases := []struct {
		name    string
		files   []gitserver.Entry
		path    string
		reason  string
		message string // a part the condition message must hold
	}{{
		name:    "malformed-yaml",
		files:   entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap, "app/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"}),
		path:    "app",
		reason:  flotillav1.ReasonRenderFailed,
		message: "broken.yaml",
	}, {
		name:    "missing-crd",
		files:   entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap, "app/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"}),
		path:    "app",
		reason:  flotillav1.ReasonDryRunFailed,
		message: "Widget",
	}, {
		name:    "rejected-object",
		files:   entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap, "app/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports: [{port: 99999}]\n"}),
		path:    "app",
		reason:  flotillav1.ReasonDryRunFailed,
		message: "Service/",
	}, {
		name:    "nonexistent-path",
		files:   entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap}),
		path:    "does/not/exist",
		reason:  flotillav1.ReasonRenderFailed,
		message: "does/not/exist",
	}, {
		name:    "path-traversal",
		files:   entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap}),
		path:    "../../..",
		reason:  flotillav1.ReasonRenderFailed,
		message: "../../..",
	}, {
		name: "symlink-out",
		files: append(entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap}),
			gitserver.Entry{Path: "app/link.yaml", Mode: gitserver.ModeSymlink, Content: outside}),
		path:    "app",
		reason:  flotillav1.ReasonRenderFailed,
		message: "link.yaml",
	}, {
		name:    "huge-manifest",
		files:   entries(map[string]string{"app/cm.yaml": harness.GoodConfigMap, "app/huge.yaml": hugeManifest(50 << 20)}),
		path:    "app",
		reason:  flotillav1.ReasonRenderFailed,
		message: "huge.yaml",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := gitserver.NewRepo(t, root, tc.name)
			repo.CommitEntries("main", tc.files)
			ns := harness.TestNamespace(t)
			newApp(t, tc.name, harness.PlainApp(srv.URL(tc.name), tc.path, ns))
			app := env.WaitApp(t, tc.name, 2*time.Minute, "Ready False with "+tc.reason, harness.FailedWith(tc.reason))
			c := harness.ReadyCondition(app)
			t.Logf("%s: %s", c.Reason, c.Message)
			if !strings.Contains(c.Message, tc.message) {
				t.Errorf("condition message should name %q: %s", tc.message, c.Message)
			}
			if strings.Contains(c.Message, "outside-canary") {
				t.Errorf("condition message leaks the symlink target: %s", c.Message)
			}
			assertAbsent(t, ns, "good")
		})
	}

	// The neighbour still follows its branch.
	next := neighbourRepo.Commit("main", map[string]string{"app/cm.yaml": strings.Replace(harness.GoodConfigMap, "k: v", "k: v2", 1)})
	env.WaitApp(t, "neighbour", time.Minute, "Synced at its new commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == next
	})
}

// TestSourceOutage: once synced, an unreachable git server or a deleted
// branch keeps the applied objects in place and says why.
func TestSourceOutage(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	gone := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo := gitserver.NewRepo(t, root, "fleet")
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	repo.Commit("feature", map[string]string{"app/cm.yaml": harness.GoodConfigMap})

	nsDown, nsBranch := harness.TestNamespace(t)+"-down", harness.TestNamespace(t)+"-branch"
	newApp(t, "outage-server", harness.PlainApp(gone.URL("fleet"), "app", nsDown))
	branchApp := harness.PlainApp(srv.URL("fleet"), "app", nsBranch)
	branchApp.Source.TargetRevision = "feature"
	newApp(t, "outage-branch", branchApp)
	env.WaitApp(t, "outage-server", 2*time.Minute, "Synced", harness.Synced)
	env.WaitApp(t, "outage-branch", 2*time.Minute, "Synced", harness.Synced)

	gone.Close()
	repo.DeleteBranch("feature")
	app := env.WaitApp(t, "outage-server", time.Minute, "FetchFailed", harness.FailedWith(flotillav1.ReasonFetchFailed))
	if !strings.Contains(harness.ReadyCondition(app).Message, "127.0.0.1") {
		t.Errorf("the condition should name the repository: %s", harness.ReadyCondition(app).Message)
	}
	app = env.WaitApp(t, "outage-branch", time.Minute, "RevisionNotFound", harness.FailedWith(flotillav1.ReasonRevisionNotFound))
	if !strings.Contains(harness.ReadyCondition(app).Message, "feature") {
		t.Errorf("the condition should name the branch: %s", harness.ReadyCondition(app).Message)
	}
	for _, ns := range []string{nsDown, nsBranch} {
		var cm corev1.ConfigMap
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "good"}, &cm); err != nil {
			t.Errorf("%s: the applied ConfigMap must stay during a source outage: %v", ns, err)
		}
	}
	if len(app.Status.Resources) == 0 {
		t.Errorf("the inventory must survive a source outage")
	}
}

func entries(files map[string]string) []gitserver.Entry {
	var out []gitserver.Entry
	for p, c := range files {
		out = append(out, gitserver.Entry{Path: p, Content: c})
	}
	return out
}

// hugeManifest is a valid ConfigMap of about size bytes.
func hugeManifest(size int) string {
	var b strings.Builder
	b.Grow(size + 100)
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  blob: ")
	b.WriteString(strings.Repeat("x", size))
	b.WriteString("\n")
	return b.String()
}

// assertAbsent checks that nothing of a failed sync was applied.
func assertAbsent(t *testing.T, ns, name string) {
	t.Helper()
	var cm corev1.ConfigMap
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm)
	if !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap %s/%s of a failed sync exists (err=%v); nothing should be applied", ns, name, err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
