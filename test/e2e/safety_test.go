package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestEmptyRenderPrunesNothing: a commit that leaves the path with no
// manifests is refused and prunes nothing, until the Application allows an
// empty render.
func TestEmptyRenderPrunesNothing(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	newApp(t, "empty", harness.PlainApp(srv.URL("fleet"), "app", ns))
	env.WaitApp(t, "empty", 2*time.Minute, "Synced", harness.Synced)

	repo.Commit("main", map[string]string{"app/README.md": "nothing to deploy here\n"})
	app := env.WaitApp(t, "empty", time.Minute, "RenderFailed", harness.FailedWith(flotillav1.ReasonRenderFailed))
	if msg := harness.ReadyCondition(app).Message; !strings.Contains(msg, "allowEmpty") {
		t.Errorf("the condition should say how to allow an empty render: %s", msg)
	}
	env.ConfigMapData(t, ns, "good") // still there

	harness.Update(t, env.Client, app, func(a *flotillav1.Application) { a.Spec.SyncPolicy.AllowEmpty = true })
	env.WaitApp(t, "empty", time.Minute, "Synced with nothing", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && len(a.Status.Resources) <= 1 // at most the namespace it created
	})
	assertAbsent(t, ns, "good")
}

// TestOwnershipConflict: an object of the same name that someone else
// created is reported as a conflict and left exactly as it was.
func TestOwnershipConflict(t *testing.T) {
	ns := harness.TestNamespace(t)
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	theirs := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "good", Namespace: ns},
		Data:       map[string]string{"k": "theirs"},
	}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	newApp(t, "conflict", harness.PlainApp(srv.URL("fleet"), "app", ns))

	app := env.WaitApp(t, "conflict", 2*time.Minute, "OwnershipConflict", harness.FailedWith(flotillav1.ReasonOwnershipConflict))
	if msg := harness.ReadyCondition(app).Message; !strings.Contains(msg, "ConfigMap/"+ns+"/good") {
		t.Errorf("the condition should name the ConfigMap: %s", msg)
	}
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "good"}, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["k"] != "theirs" || cm.Labels[flotillav1.TrackingLabel] != "" {
		t.Errorf("someone else's ConfigMap was changed: data=%v labels=%v", cm.Data, cm.Labels)
	}
}
