package harness

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// MustRun runs a program and returns its combined output, failing the test
// on a non-zero exit.
func MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := Run(name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return out
}

// KubectlBin is the kubectl of the local fleet's binaries.
func KubectlBin() string { return filepath.Join(localfleet.DefaultBinDir(), "kubectl") }

// WaitApp polls the Application until cond holds, failing with its status and
// the controller's log otherwise.
func (h *Hub) WaitApp(t testing.TB, name string, timeout time.Duration, what string, cond func(*flotillav1.Application) bool) *flotillav1.Application {
	t.Helper()
	app := &flotillav1.Application{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := h.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err != nil {
			return false, nil
		}
		return cond(app), nil
	})
	if err != nil {
		t.Fatalf("Application %s: %s: %v\nstatus: %s\ncontroller log:\n%s", name, what, err, StatusString(app), h.ControllerLogTail(40))
	}
	return app
}

// WaitGone waits until the Application is deleted.
func (h *Hub) WaitGone(t testing.TB, name string, timeout time.Duration) {
	t.Helper()
	var last *flotillav1.Application
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var a flotillav1.Application
		err := h.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, &a)
		last = &a
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("Application %s is still there: %v\nstatus: %s\n%s", name, err, StatusString(last), h.ControllerLogTail(30))
	}
}

// CreateSecret creates a Secret in the hub's flotilla-system namespace,
// deleted when the test ends.
func (h *Hub) CreateSecret(t testing.TB, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Data:       data,
	}
	if err := h.Client.Create(context.Background(), s); err != nil {
		t.Fatalf("create Secret %s: %v", name, err)
	}
	t.Cleanup(func() { _ = h.Client.Delete(context.Background(), s) })
}

// KubeconfigFor is a self-contained admin kubeconfig for a cluster of the
// fleet: what a Cluster Secret holds.
func (h *Hub) KubeconfigFor(t testing.TB, cluster string) []byte {
	t.Helper()
	data, err := h.Fleet.Cluster(cluster).Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// RegisterCluster records a workload cluster of the fleet in the hub under
// name, with labels, through a kubeconfig Secret; both are deleted when the
// test ends.
func (h *Hub) RegisterCluster(t testing.TB, name, kubeContext string, labels map[string]string) *flotillav1.Cluster {
	t.Helper()
	h.CreateSecret(t, "cluster-"+name, map[string][]byte{
		"kubeconfig": h.KubeconfigFor(t, kubeContext),
	})
	c := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace, Labels: labels},
		Spec:       flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: "cluster-" + name}},
	}
	if err := h.Client.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Client.Delete(context.Background(), c) })
	return c
}

// RegisteredToken reads the credentials Secret `cluster add` wrote, checks
// it holds only a token and a CA, and returns the token.
func (h *Hub) RegisteredToken(t testing.TB, name string) string {
	t.Helper()
	var s corev1.Secret
	if err := h.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "cluster-" + name}, &s); err != nil {
		t.Fatalf("credentials Secret: %v", err)
	}
	var keys []string
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, ",") != "bearerToken,caData" {
		t.Errorf("credentials Secret keys = %v, want bearerToken and caData only", keys)
	}
	token := string(s.Data["bearerToken"])
	if len(token) < 20 {
		t.Fatalf("the credentials Secret has no usable token")
	}
	return token
}

// ConfigMapData is the value of k in the hub's ConfigMap ns/name.
func (h *Hub) ConfigMapData(t testing.TB, ns, name string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := h.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatalf("ConfigMap %s/%s: %v", ns, name, err)
	}
	return cm.Data["k"]
}

// ConfigMapExists reports whether the hub has the ConfigMap ns/name.
func (h *Hub) ConfigMapExists(ctx context.Context, ns, name string) bool {
	var cm corev1.ConfigMap
	return h.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm) == nil
}

// HTTPSRepo serves a new repository over smart HTTP with TLS and basic auth
// (password CanaryPassword), and creates the credentials Secret for it.
func (h *Hub) HTTPSRepo(t testing.TB, secretName string) (*gitserver.Repo, *gitserver.HTTP) {
	t.Helper()
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "deployer", Password: CanaryPassword, TLS: true})
	h.CreateSecret(t, secretName, map[string][]byte{
		"username": []byte("deployer"),
		"password": []byte(CanaryPassword),
		"caCert":   srv.CACert(),
	})
	return repo, srv
}

// LiveConfigMap reads a ConfigMap through c; nil when it does not exist.
func LiveConfigMap(t testing.TB, c client.Client, ns, name string) *corev1.ConfigMap {
	t.Helper()
	var cm corev1.ConfigMap
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return &cm
}

// WaitConfigMapGone waits a minute for the ConfigMap ns/name to be deleted
// from c.
func WaitConfigMapGone(t testing.TB, c client.Client, ns, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return LiveConfigMap(t, c, ns, name) == nil, nil
	})
	if err != nil {
		t.Errorf("ConfigMap %s/%s should be deleted", ns, name)
	}
}

// Update reads obj anew, changes it with mutate and writes it back, again
// while the write conflicts: the controller writes the status of the
// objects tests change (each status write moves the resourceVersion).
func Update[T client.Object](t testing.TB, c client.Client, obj T, mutate func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return c.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("update %T %s: %v", obj, obj.GetName(), err)
	}
}
