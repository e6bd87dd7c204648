package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

func hubClient(t *testing.T) client.Client {
	t.Helper()
	c, err := clientFor(hubCluster)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func targetKube(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(targetCluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func uniqueName(prefix string) string { return fmt.Sprintf("%s-%05d", prefix, rand.IntN(100000)) }

// register registers the target cluster under a new name and removes the
// Cluster from the hub when the test ends.
func register(t *testing.T, opts cluster.RegisterOptions) *flotillav1.Cluster {
	t.Helper()
	hub := hubClient(t)
	c, err := cluster.Register(t.Context(), targetCluster.RESTConfig(), hub, opts)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	t.Cleanup(func() { _, _ = cluster.Unregister(context.Background(), hub, opts.Namespace, opts.Name) })
	return c
}

func hubSecret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: cluster.SecretName(name)}
	if err := hubClient(t).Get(t.Context(), key, s); err != nil {
		t.Fatalf("credentials Secret of %s: %v", name, err)
	}
	return s
}

// tokenConfig reaches the target as the hub will: with the registered
// Secret's token and CA only.
func tokenConfig(s *corev1.Secret) *rest.Config {
	return &rest.Config{
		Host:            targetCluster.Server,
		BearerToken:     string(s.Data[cluster.KeyBearerToken]),
		TLSClientConfig: rest.TLSClientConfig{CAData: s.Data[cluster.KeyCAData]},
	}
}

// TestRegister: the hub gets a Cluster and a Secret with only a token and a
// CA; the token is the flotilla-manager ServiceAccount's, and may do
// anything in the target.
func TestRegister(t *testing.T) {
	name := uniqueName("reg")
	var steps []string
	opts := cluster.DefaultRegisterOptions()
	opts.Name, opts.Labels = name, map[string]string{"env": "test"}
	opts.Progress = func(s string) { steps = append(steps, s) }
	c := register(t, opts)

	want := flotillav1.ClusterSpec{
		Server:         targetCluster.Server,
		CredentialsRef: &flotillav1.LocalObjectReference{Name: "cluster-" + name},
		Mode:           flotillav1.ClusterModePush,
	}
	var got flotillav1.Cluster
	if err := hubClient(t).Get(t.Context(), client.ObjectKeyFromObject(c), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("Cluster spec (-want +got):\n%s", diff)
	}
	if got.Labels["env"] != "test" {
		t.Errorf("Cluster labels = %v, want env=test", got.Labels)
	}

	s := hubSecret(t, name)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range s.Data {
			if !yield(k) {
				return
			}
		}
	})
	if diff := cmp.Diff([]string{"bearerToken", "caData"}, keys); diff != "" {
		t.Errorf("credentials Secret keys (-want +got):\n%s", diff)
	}
	if !bytes.Equal(s.Data[cluster.KeyCAData], targetCluster.CACert) {
		t.Errorf("caData is not the target's CA")
	}
	for _, data := range s.Data {
		if bytes.Contains(data, targetCluster.AdminKey) || bytes.Contains(data, targetCluster.AdminCert) {
			t.Errorf("the hub's Secret holds the caller's admin credentials")
		}
	}

	cs, err := kubernetes.NewForConfig(tokenConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the registered token is refused: %v", err)
	}
	if got, want := review.Status.UserInfo.Username, "system:serviceaccount:flotilla-system:flotilla-manager"; got != want {
		t.Errorf("the token is %q, want %q", got, want)
	}
	assertMayDoAnything(t, cs)

	for _, want := range []string{"applied ClusterRole flotilla-manager", "token of ServiceAccount flotilla-system/flotilla-manager is ready",
		"reaches Kubernetes " + localfleet.KubernetesVersion, "Secret flotilla-system/cluster-" + name + " created", "Cluster flotilla-system/" + name + " created"} {
		if !slices.ContainsFunc(steps, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("progress lacks %q:\n%s", want, strings.Join(steps, "\n"))
		}
	}
	token := string(s.Data[cluster.KeyBearerToken])
	if strings.Contains(strings.Join(steps, "\n"), token) {
		t.Errorf("progress shows the token")
	}
}

// assertMayDoAnything checks that the ServiceAccount may do any verb on any
// resource and non-resource URL, as a deployer must.
func assertMayDoAnything(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	for _, attrs := range []authorizationv1.SelfSubjectAccessReviewSpec{
		{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "*", Group: "*", Resource: "*"}},
		{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}},
		{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}},
	} {
		r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(),
			&authorizationv1.SelfSubjectAccessReview{Spec: attrs}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Status.Allowed {
			t.Errorf("the ServiceAccount may not %+v %+v: %s", attrs.ResourceAttributes, attrs.NonResourceAttributes, r.Status.Reason)
		}
	}
}

// TestRegisterAgain: registering again changes nothing in the target (the
// same token), replaces whatever the hub's Secret held before (an admin
// kubeconfig, say) and keeps the Cluster's own labels and limits.
func TestRegisterAgain(t *testing.T) {
	name := uniqueName("again")
	hub := hubClient(t)
	ctx := t.Context()
	old := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: cluster.SecretName(name), Namespace: flotillav1.DefaultNamespace},
		Data:       map[string][]byte{"kubeconfig": []byte("admin credentials")},
	}
	existing := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace, Labels: map[string]string{"keep": "yes", "env": "old"}},
		Spec:       flotillav1.ClusterSpec{Server: "https://old.invalid", Limits: &flotillav1.ClusterLimits{QPS: 7}},
	}
	for _, obj := range []client.Object{old, existing} {
		if err := hub.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	opts := cluster.DefaultRegisterOptions()
	opts.Name, opts.Labels = name, map[string]string{"env": "new"}
	register(t, opts)
	first := hubSecret(t, name)
	register(t, opts)
	second := hubSecret(t, name)

	if _, ok := second.Data["kubeconfig"]; ok {
		t.Errorf("the old kubeconfig survived registration")
	}
	if !bytes.Equal(first.Data[cluster.KeyBearerToken], second.Data[cluster.KeyBearerToken]) {
		t.Errorf("registering again made a new token")
	}
	var got flotillav1.Cluster
	if err := hub.Get(ctx, client.ObjectKeyFromObject(existing), &got); err != nil {
		t.Fatal(err)
	}
	if got.Labels["keep"] != "yes" || got.Labels["env"] != "new" {
		t.Errorf("labels = %v, want keep=yes env=new", got.Labels)
	}
	if got.Spec.Limits == nil || got.Spec.Limits.QPS != 7 || got.Spec.Server != targetCluster.Server {
		t.Errorf("spec = %+v, want the target's server and the limits kept", got.Spec)
	}
}

// TestRegisterRefuses: bad names, a hub without Flotilla, and a cluster
// without a token controller fail with errors that name the cluster and
// the step, and never show a token.
func TestRegisterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, step, msg string
	}{
		{"", "check the name", "a name is required"},
		{"in-cluster", "check the name", "reserved for the hub"},
		{"Bad_Name", "check the name", "not a valid name"},
	} {
		opts := cluster.DefaultRegisterOptions()
		opts.Name = tc.name
		_, err := cluster.Register(t.Context(), targetCluster.RESTConfig(), hubClient(t), opts)
		assertStepError(t, err, tc.name, tc.step, tc.msg)
	}

	t.Run("hub without Flotilla", func(t *testing.T) {
		target, err := clientFor(targetCluster)
		if err != nil {
			t.Fatal(err)
		}
		opts := cluster.DefaultRegisterOptions()
		opts.Name = "nohub"
		_, err = cluster.Register(t.Context(), hubCluster.RESTConfig(), target, opts)
		assertStepError(t, err, "nohub", "check the hub", "install Flotilla")
	})

	t.Run("no token controller", func(t *testing.T) {
		// The lean hub runs no kube-controller-manager: the token never comes.
		opts := cluster.DefaultRegisterOptions()
		opts.Name, opts.TokenTimeout = "notoken", 2*time.Second
		start := time.Now()
		_, err := cluster.Register(t.Context(), hubCluster.RESTConfig(), hubClient(t), opts)
		assertStepError(t, err, "notoken", "wait for the ServiceAccount token", "token controller")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Register took %s; the token wait is bounded by 2s", d)
		}
		if err := hubClient(t).Get(t.Context(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "notoken"}, &flotillav1.Cluster{}); !apierrors.IsNotFound(err) {
			t.Errorf("a failed registration must not create the Cluster, got err=%v", err)
		}
	})

	t.Run("hub write fails after the token", func(t *testing.T) {
		opts := cluster.DefaultRegisterOptions()
		opts.Name, opts.Namespace = "nowrite", "no-such-namespace"
		_, err := cluster.Register(t.Context(), targetCluster.RESTConfig(), hubClient(t), opts)
		assertStepError(t, err, "nowrite", "write the credentials Secret in the hub", "no-such-namespace")
		s, gerr := targetKube(t).CoreV1().Secrets(cluster.ManagerNamespace).Get(t.Context(), cluster.ManagerTokenSecret, metav1.GetOptions{})
		if gerr != nil {
			t.Fatal(gerr)
		}
		if tok := string(s.Data[corev1.ServiceAccountTokenKey]); tok == "" || strings.Contains(err.Error(), tok) {
			t.Errorf("the error shows the token (or there is none): %v", err)
		}
	})
}

func assertStepError(t *testing.T, err error, name, step, msg string) {
	t.Helper()
	var se *cluster.StepError
	if !errors.As(err, &se) {
		t.Fatalf("Register(%q) = %v, want a *cluster.StepError", name, err)
	}
	if se.Cluster != name || se.Step != step || !strings.Contains(err.Error(), msg) {
		t.Errorf("Register(%q) = cluster %q step %q: %v; want step %q and %q in the message", name, se.Cluster, se.Step, err, step, msg)
	}
	if !strings.HasPrefix(err.Error(), "cluster "+name+": "+step+": ") {
		t.Errorf("error %q should start with the cluster and the step", err)
	}
}

// TestUnregister: the Cluster and its Secret leave the hub; the target, its
// workloads and the ServiceAccount stay. A Secret another Cluster uses stays.
func TestUnregister(t *testing.T) {
	ctx := t.Context()
	hub := hubClient(t)
	name := uniqueName("unreg")
	opts := cluster.DefaultRegisterOptions()
	opts.Name = name
	register(t, opts)
	workload := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "workload-" + name, Namespace: "default"}}
	if _, err := targetKube(t).CoreV1().ConfigMaps("default").Create(ctx, workload, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	removed, err := cluster.Unregister(ctx, hub, "", name)
	if err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	wantRemoved := []string{"Cluster flotilla-system/" + name, "Secret flotilla-system/cluster-" + name}
	if diff := cmp.Diff(wantRemoved, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	for _, obj := range []client.Object{&flotillav1.Cluster{}, &corev1.Secret{}} {
		key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}
		if _, ok := obj.(*corev1.Secret); ok {
			key.Name = cluster.SecretName(name)
		}
		if err := hub.Get(ctx, key, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s still in the hub (err=%v)", obj, key.Name, err)
		}
	}
	if _, err := targetKube(t).CoreV1().ConfigMaps("default").Get(ctx, workload.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the workload in the target is gone: %v", err)
	}
	if _, err := targetKube(t).CoreV1().ServiceAccounts(cluster.ManagerNamespace).Get(ctx, cluster.ManagerName, metav1.GetOptions{}); err != nil {
		t.Errorf("Unregister must not touch the target's ServiceAccount: %v", err)
	}

	_, err = cluster.Unregister(ctx, hub, "", name)
	if !errors.Is(err, cluster.ErrNotRegistered) {
		t.Errorf("Unregister of a removed Cluster = %v, want ErrNotRegistered", err)
	}

	t.Run("shared Secret", func(t *testing.T) {
		shared := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("shared"), Namespace: flotillav1.DefaultNamespace}}
		if err := hub.Create(ctx, shared); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Delete(context.Background(), shared) })
		for _, n := range []string{"one", "two"} {
			c := &flotillav1.Cluster{
				ObjectMeta: metav1.ObjectMeta{Name: shared.Name + "-" + n, Namespace: flotillav1.DefaultNamespace},
				Spec:       flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: shared.Name}},
			}
			if err := hub.Create(ctx, c); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = hub.Delete(context.Background(), c) })
		}
		removed, err := cluster.Unregister(ctx, hub, flotillav1.DefaultNamespace, shared.Name+"-one")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Cluster flotilla-system/" + shared.Name + "-one"}, removed); diff != "" {
			t.Errorf("removed (-want +got):\n%s", diff)
		}
		if err := hub.Get(ctx, client.ObjectKeyFromObject(shared), &corev1.Secret{}); err != nil {
			t.Errorf("a Secret another Cluster uses was removed: %v", err)
		}
	})
}

// TestRevokeAccess: revoking deletes the ServiceAccount, its RBAC and token
// in the target, the token stops working, and registering again works.
func TestRevokeAccess(t *testing.T) {
	ctx := t.Context()
	name := uniqueName("revoke")
	opts := cluster.DefaultRegisterOptions()
	opts.Name = name
	register(t, opts)
	cfg := tokenConfig(hubSecret(t, name))

	removed, err := cluster.RevokeAccess(ctx, targetCluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Secret flotilla-system/flotilla-manager-token", "ClusterRoleBinding flotilla-manager", "ClusterRole flotilla-manager", "ServiceAccount flotilla-system/flotilla-manager"}
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cluster.ServerVersion(ctx, cfg)
		return apierrors.IsUnauthorized(err), nil
	})
	if err != nil {
		t.Errorf("the revoked token still works: %v", err)
	}
	if _, err := targetKube(t).CoreV1().Namespaces().Get(ctx, cluster.ManagerNamespace, metav1.GetOptions{}); err != nil {
		t.Errorf("RevokeAccess must keep the namespace: %v", err)
	}

	register(t, opts)
	if _, err := cluster.ServerVersion(ctx, tokenConfig(hubSecret(t, name))); err != nil {
		t.Errorf("the token of a new registration is refused: %v", err)
	}
}
