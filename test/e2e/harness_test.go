package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// testNamespace is the destination namespace of one test, made from its name,
// so that tests sharing the fleet never touch each other's objects.
func testNamespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	return strings.Trim(name, "-")
}

// waitApp polls the Application until cond holds, failing with its status and
// the controller's log otherwise.
func waitApp(t *testing.T, name string, timeout time.Duration, what string, cond func(*flotillav1.Application) bool) *flotillav1.Application {
	t.Helper()
	app := &flotillav1.Application{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err != nil {
			return false, nil
		}
		return cond(app), nil
	})
	if err != nil {
		t.Fatalf("Application %s: %s: %v\nstatus: %s\ncontroller log:\n%s", name, what, err, statusString(app), env.ControllerLogTail(40))
	}
	return app
}

func statusString(app *flotillav1.Application) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sync=%s revision=%s", app.Status.Sync.Status, app.Status.Sync.Revision)
	for _, c := range app.Status.Conditions {
		fmt.Fprintf(&b, "\n  %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	if op := app.Status.Operation; op != nil {
		fmt.Fprintf(&b, "\n  operation %s: %s", op.Phase, op.Message)
	}
	return b.String()
}

func readyCondition(app *flotillav1.Application) *metav1.Condition {
	for i := range app.Status.Conditions {
		if app.Status.Conditions[i].Type == flotillav1.ConditionReady {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}

func synced(app *flotillav1.Application) bool {
	c := readyCondition(app)
	return app.Status.Sync.Status == flotillav1.SyncStatusSynced && c != nil &&
		c.Status == metav1.ConditionTrue && c.ObservedGeneration == app.Generation
}

// failedWith reports whether the Application's Ready condition is False with reason.
func failedWith(reason string) func(*flotillav1.Application) bool {
	return func(app *flotillav1.Application) bool {
		c := readyCondition(app)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason && c.ObservedGeneration == app.Generation
	}
}

// createSecret creates a Secret in the hub's flotilla-system namespace.
func createSecret(t *testing.T, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Data:       data,
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatalf("create Secret %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), s) })
}
