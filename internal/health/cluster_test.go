package health_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

var deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// TestAssessOnRealCluster runs two Deployments on a real control plane,
// whose controllers and fake node (kwok) behave as on a real cluster: one
// becomes Available and is Healthy; the other's pods cannot be scheduled,
// the deployment controller gives up after its 5s progress deadline, and it
// is Degraded, saying why.
func TestAssessOnRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local control plane")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1})
	if err != nil {
		t.Fatalf("health tests need a local control plane (make k8s): %v", err)
	}
	defer func() { _ = f.Stop() }()
	cfg := f.Clusters[0].RESTConfig()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("health-%05d", rand.IntN(100000))
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create(ctx, t, dyn, deploymentYAML(ns, "ready", ""))
	create(ctx, t, dyn, deploymentYAML(ns, "stuck", "progressDeadlineSeconds: 5\n  "))

	checker := health.NewChecker(health.Options{Pods: health.PodsFromClient(cs)})
	ready := waitFor(ctx, t, dyn, checker, ns, "ready", flotillav1.HealthHealthy)
	if want := "Deployment/" + ns + "/ready: 2/2 replicas available"; ready.Message != want {
		t.Errorf("ready: message = %q, want %q", ready.Message, want)
	}
	stuck := waitFor(ctx, t, dyn, checker, ns, "stuck", flotillav1.HealthDegraded)
	wantStart := "Deployment/" + ns + "/stuck: 0/2 replicas available, progress deadline exceeded; pod stuck-"
	wantEnd := ": Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
	if !strings.HasPrefix(stuck.Message, wantStart) || !strings.Contains(stuck.Message, wantEnd) {
		t.Errorf("stuck: message = %q, want %q…%q", stuck.Message, wantStart, wantEnd)
	}

	t.Logf("%s: %s", ready.Status, ready.Message)
	t.Logf("%s: %s", stuck.Status, stuck.Message)

	code, msg := health.Rollup([]health.Result{ready, stuck})
	if code != flotillav1.HealthDegraded || msg != stuck.Message {
		t.Errorf("Rollup = %s %q, want Degraded with the stuck Deployment's message", code, msg)
	}
}

// deploymentYAML is a Deployment of two pods; the "stuck" one asks for a
// node that does not exist.
func deploymentYAML(ns, name, extraSpec string) string {
	nodeSelector := ""
	if name == "stuck" {
		nodeSelector = "nodeSelector: {disktype: none-such}\n      "
	}
	return fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  %[3]sreplicas: 2
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
      %[4]scontainers: [{name: app, image: "registry.example/app:1"}]
`, ns, name, extraSpec, nodeSelector)
}

func create(ctx context.Context, t *testing.T, dyn dynamic.Interface, doc string) {
	t.Helper()
	obj := parse(t, doc)
	if _, err := dyn.Resource(deployments).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s: %v", obj.GetName(), err)
	}
}

// waitFor assesses the live Deployment until it has code, and returns that
// Result; it fails the test with the last Result after a minute.
func waitFor(ctx context.Context, t *testing.T, dyn dynamic.Interface, checker *health.Checker, ns, name string, code flotillav1.HealthStatusCode) health.Result {
	t.Helper()
	var last health.Result
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		obj, err := dyn.Resource(deployments).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = checker.Assess(ctx, obj)
		return last.Status == code, nil
	})
	if err != nil {
		t.Fatalf("%s never %s: %v; last: %s %q", name, code, err, last.Status, last.Message)
	}
	return last
}
