package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

const goodConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  k: v\n"

// TestBadInput: each kind of bad input turns its Application's Ready
// condition False with a reason and a message naming the cause, applies
// nothing of that sync, prunes nothing, and leaves the controller syncing
// every other Application.
func TestBadInput(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})

	// A healthy neighbour that must keep syncing throughout.
	neighbourRepo := gitserver.NewRepo(t, root, "neighbour")
	neighbourRepo.Commit("main", map[string]string{"app/cm.yaml": goodConfigMap})
	neighbourNS := testNamespace(t) + "-neighbour"
	newApp(t, "neighbour", plainApp(srv.URL("neighbour"), "app", neighbourNS))
	waitApp(t, "neighbour", 2*time.Minute, "Synced", synced)

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
		files:   entries(map[string]string{"app/cm.yaml": goodConfigMap, "app/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"}),
		path:    "app",
		reason:  flotillav1.ReasonRenderFailed,
		message: "broken.yaml",
	}, {
		name:    "missing-crd",
		files:   entries(map[string]string{"app/cm.yaml": goodConfigMap, "app/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"}),
		path:    "app",
		reason:  flotillav1.ReasonDryRunFailed,
		message: "Widget",
	}, {
		name:    "rejected-object",
		files:   entries(map[string]string{"app/cm.yaml": goodConfigMap, "app/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports: [{port: 99999}]\n"}),
		path:    "app",
		reason:  flotillav1.ReasonDryRunFailed,
		message: "Service/",
	}, {
		name:    "nonexistent-path",
		files:   entries(map[string]string{"app/cm.yaml": goodConfigMap}),
		path:    "does/not/exist",
		reason:  flotillav1.ReasonRenderFailed,
		message: "does/not/exist",
	}, {
		name:    "path-traversal",
		files:   entries(map[string]string{"app/cm.yaml": goodConfigMap}),
		path:    "../../..",
		reason:  flotillav1.ReasonRenderFailed,
		message: "../../..",
	}, {
		name: "symlink-out",
		files: append(entries(map[string]string{"app/cm.yaml": goodConfigMap}),
			gitserver.Entry{Path: "app/link.yaml", Mode: gitserver.ModeSymlink, Content: outside}),
		path:    "app",
		reason:  flotillav1.ReasonRenderFailed,
		message: "link.yaml",
	}, {
		name:    "huge-manifest",
		files:   entries(map[string]string{"app/cm.yaml": goodConfigMap, "app/huge.yaml": hugeManifest(50 << 20)}),
		path:    "app",
		reason:  flotillav1.ReasonRenderFailed,
		message: "huge.yaml",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := gitserver.NewRepo(t, root, tc.name)
			repo.CommitEntries("main", tc.files)
			ns := testNamespace(t)
			newApp(t, tc.name, plainApp(srv.URL(tc.name), tc.path, ns))
			app := waitApp(t, tc.name, 2*time.Minute, "Ready False with "+tc.reason, failedWith(tc.reason))
			c := readyCondition(app)
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
	next := neighbourRepo.Commit("main", map[string]string{"app/cm.yaml": strings.Replace(goodConfigMap, "k: v", "k: v2", 1)})
	waitApp(t, "neighbour", time.Minute, "Synced at its new commit", func(a *flotillav1.Application) bool {
		return synced(a) && a.Status.Sync.Revision == next
	})
}

// TestSourceOutage: once synced, an unreachable git server or a deleted
// branch keeps the applied objects in place and says why.
func TestSourceOutage(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	gone := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo := gitserver.NewRepo(t, root, "fleet")
	repo.Commit("main", map[string]string{"app/cm.yaml": goodConfigMap})
	repo.Commit("feature", map[string]string{"app/cm.yaml": goodConfigMap})

	nsDown, nsBranch := testNamespace(t)+"-down", testNamespace(t)+"-branch"
	newApp(t, "outage-server", plainApp(gone.URL("fleet"), "app", nsDown))
	branchApp := plainApp(srv.URL("fleet"), "app", nsBranch)
	branchApp.Source.TargetRevision = "feature"
	newApp(t, "outage-branch", branchApp)
	waitApp(t, "outage-server", 2*time.Minute, "Synced", synced)
	waitApp(t, "outage-branch", 2*time.Minute, "Synced", synced)

	gone.Close()
	repo.DeleteBranch("feature")
	app := waitApp(t, "outage-server", time.Minute, "FetchFailed", failedWith(flotillav1.ReasonFetchFailed))
	if !strings.Contains(readyCondition(app).Message, "127.0.0.1") {
		t.Errorf("the condition should name the repository: %s", readyCondition(app).Message)
	}
	app = waitApp(t, "outage-branch", time.Minute, "RevisionNotFound", failedWith(flotillav1.ReasonRevisionNotFound))
	if !strings.Contains(readyCondition(app).Message, "feature") {
		t.Errorf("the condition should name the branch: %s", readyCondition(app).Message)
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

func plainApp(url, path, ns string) flotillav1.ApplicationSpec {
	return flotillav1.ApplicationSpec{
		Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: path},
		Destination: flotillav1.Destination{Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: true},
			CreateNamespace: true,
			Interval:        interval(2 * time.Second),
			Retry:           &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{Duration: &metav1.Duration{Duration: time.Second}}},
		},
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
