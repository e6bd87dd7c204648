package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/capi"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// capiModule is the Cluster API release whose own CRD the test installs.
const capiModule = "sigs.k8s.io/cluster-api@v1.14.2"

var capiClusterGVK = schema.GroupVersionKind{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "Cluster"}

// TestCAPIRegistersClusters: with `flotilla controller --capi`, a Cluster
// API Cluster whose kubeconfig Secret reaches a real cluster (dev-3,
// standing in for a provisioned one) becomes a Flotilla Cluster with its
// labels once its control plane is initialized, not before; a Fleet
// selecting one of those labels deploys to it; its labels follow the CAPI
// Cluster's; deleting the CAPI Cluster removes the Flotilla Cluster and its
// credentials Secret. A Flotilla Cluster the controller did not make is
// never taken over or deleted.
func TestCAPIRegistersClusters(t *testing.T) {
	const (
		ns     = "capi-hub"
		name   = "capi-w1"
		other  = "capi-taken"
		target = "dev-3"
	)
	ctx := context.Background()
	installCAPICRD(t)
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := env.Client.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), nsObj) })
	replica, err := env.StartReplica("capi", "--namespace", ns, "--capi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Stop)
	create := func(obj client.Object) {
		t.Helper()
		obj.SetNamespace(ns)
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	}

	// A Flotilla Cluster someone registered by hand, and a CAPI Cluster of
	// the same name: the controller leaves the former alone.
	create(&flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: other, Labels: map[string]string{"owner": "hand"}},
		Spec: flotillav1.ClusterSpec{Server: "https://127.0.0.1:1", Mode: flotillav1.ClusterModePush}})
	for _, n := range []string{name, other} {
		create(kubeconfigSecret(t, n, target))
		create(capiCluster(n, map[string]string{"env": "capi-e2e", "tier": "web"}))
	}

	// Not yet provisioned: no Flotilla Cluster.
	time.Sleep(3 * time.Second)
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &flotillav1.Cluster{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a Cluster was registered before the control plane was initialized (err=%v)\nreplica log:\n%s", err, replica.Log())
	}

	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	gitserver.NewRepo(t, root, "capi").Commit("main", map[string]string{"plain/cm.yaml": harness.GoodConfigMap})
	spec := harness.PlainApp(srv.URL("capi"), "plain", "capi-e2e")
	create(&flotillav1.Fleet{ObjectMeta: metav1.ObjectMeta{Name: "capi-web"}, Spec: flotillav1.FleetSpec{
		ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "capi-e2e"}},
		Template: flotillav1.FleetTemplate{
			Source:      spec.Source,
			Destination: flotillav1.FleetDestination{Namespace: spec.Destination.Namespace},
			SyncPolicy:  spec.SyncPolicy,
		},
	}})

	for _, n := range []string{name, other} {
		markControlPlaneInitialized(t, ns, n)
	}
	c := waitClusterIn(t, ns, name, replica.Log, "registered with the CAPI Cluster's labels", func(c *flotillav1.Cluster) bool {
		return c.Labels["env"] == "capi-e2e" && c.Labels["tier"] == "web" && c.Labels[capi.SourceLabel] == name
	})
	if want := env.Fleet.Cluster(target).Server; c.Spec.Server != want || c.Spec.CredentialsRef == nil {
		t.Errorf("spec = %+v, want server %s with credentials", c.Spec, want)
	}
	assertCredentialsAreToken(t, ns, "cluster-"+name)
	waitClusterIn(t, ns, name, replica.Log, "connected", func(c *flotillav1.Cluster) bool { return c.Status.Connected })
	waitAppIn(t, ns, "capi-web-"+name, "the Fleet's Application Synced on the new cluster", harness.Synced)
	if err := workClient(t, target).Get(ctx, client.ObjectKey{Namespace: "capi-e2e", Name: "good"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the Fleet's ConfigMap is not in %s: %v", target, err)
	}

	// Labels follow the CAPI Cluster: one removed, one added.
	relabelCAPI(t, ns, name, map[string]string{"env": "capi-e2e", "region": "eu"})
	waitClusterIn(t, ns, name, replica.Log, "labels following the CAPI Cluster", func(c *flotillav1.Cluster) bool {
		_, tier := c.Labels["tier"]
		return !tier && c.Labels["region"] == "eu"
	})

	var taken flotillav1.Cluster
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: other}, &taken); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(taken.Labels, map[string]string{"owner": "hand"}) || taken.Spec.Server != "https://127.0.0.1:1" {
		t.Errorf("a Cluster Flotilla did not make was changed: labels %v, server %s", taken.Labels, taken.Spec.Server)
	}

	for _, n := range []string{name, other} {
		deleteCAPICluster(t, ns, n)
	}
	waitRemoved(t, &flotillav1.Cluster{}, client.ObjectKey{Namespace: ns, Name: name}, replica.Log)
	waitRemoved(t, &corev1.Secret{}, client.ObjectKey{Namespace: ns, Name: "cluster-" + name}, replica.Log)
	time.Sleep(2 * time.Second)
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: other}, &taken); err != nil {
		t.Errorf("a Cluster Flotilla did not make was deleted with the CAPI Cluster of its name: %v", err)
	}
}

// installCAPICRD installs Cluster API's Cluster CRD, as its release ships
// it, into the hub.
func installCAPICRD(t *testing.T) {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", capiModule)
	cmd.Dir = t.TempDir() // outside the module: go.mod stays as it is
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", capiModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: no folder in %s (%v)", capiModule, out, err)
	}
	data, err := os.ReadFile(filepath.Join(mod.Dir, "core", "config", "crd", "bases", "cluster.x-k8s.io_clusters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &crd.Object); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create the CRD %s: %v", crd.GetName(), err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), crd) })
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the CRD %s is not Established: %v", crd.GetName(), err)
	}
}

// kubeconfigSecret is the Secret Cluster API writes for a cluster: here
// the admin kubeconfig of the local cluster target.
func kubeconfigSecret(t *testing.T, name, target string) *corev1.Secret {
	t.Helper()
	kc, err := env.Fleet.Cluster(target).Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-kubeconfig", Labels: map[string]string{"cluster.x-k8s.io/cluster-name": name}},
		Type:       "cluster.x-k8s.io/secret",
		Data:       map[string][]byte{"value": kc},
	}
}

func capiCluster(name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"controlPlaneEndpoint": map[string]any{"host": "127.0.0.1", "port": int64(6443)}},
	}}
	u.SetGroupVersionKind(capiClusterGVK)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func getCAPICluster(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(capiClusterGVK)
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatalf("CAPI Cluster %s: %v", name, err)
	}
	return u
}

// markControlPlaneInitialized writes what Cluster API reports once the
// cluster's control plane accepts requests.
func markControlPlaneInitialized(t *testing.T, ns, name string) {
	t.Helper()
	u := getCAPICluster(t, ns, name)
	if err := unstructured.SetNestedField(u.Object, true, "status", "initialization", "controlPlaneInitialized"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Status().Update(context.Background(), u); err != nil {
		t.Fatalf("CAPI Cluster %s: status: %v", name, err)
	}
}

func relabelCAPI(t *testing.T, ns, name string, labels map[string]string) {
	t.Helper()
	harness.Update(t, env.Client, getCAPICluster(t, ns, name), func(u *unstructured.Unstructured) { u.SetLabels(labels) })
}

func deleteCAPICluster(t *testing.T, ns, name string) {
	t.Helper()
	if err := env.Client.Delete(context.Background(), getCAPICluster(t, ns, name)); err != nil {
		t.Fatalf("delete CAPI Cluster %s: %v", name, err)
	}
}

// waitClusterIn is waitCluster for namespace ns, with the log of the
// controller that serves it.
func waitClusterIn(t *testing.T, ns, name string, log func() string, what string, cond func(*flotillav1.Cluster) bool) *flotillav1.Cluster {
	t.Helper()
	c := &flotillav1.Cluster{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
			return false, nil
		}
		return cond(c), nil
	})
	if err != nil {
		t.Fatalf("Cluster %s/%s: %s: %v\nlabels: %v\nstatus: %+v\ncontroller log:\n%s", ns, name, what, err, c.Labels, c.Status, log())
	}
	return c
}

func waitRemoved(t *testing.T, obj client.Object, key client.ObjectKey, log func() string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(env.Client.Get(ctx, key, obj)), nil
	})
	if err != nil {
		t.Fatalf("%T %s is still in the hub: %v\ncontroller log:\n%s", obj, key, err, log())
	}
}

// assertCredentialsAreToken checks that the hub's credentials Secret holds
// a ServiceAccount token, not Cluster API's admin kubeconfig.
func assertCredentialsAreToken(t *testing.T, ns, secret string) {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: secret}, &s); err != nil {
		t.Fatalf("credentials Secret: %v", err)
	}
	if len(s.Data) != 2 || len(s.Data["bearerToken"]) < 20 || len(s.Data["caData"]) == 0 {
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		t.Errorf("credentials Secret %s holds %v, want bearerToken and caData only", secret, keys)
	}
}
