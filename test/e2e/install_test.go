package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestInstalledControllerNeedsNoMore is the story of `flotilla install
// --controller`: installed into a namespace of the hub, the controller runs
// as its ServiceAccount with exactly the installed RBAC (a process with that
// account's token, since the local clusters run no containers), shares its
// clusters over Leases, syncs an Application to a workload cluster, and never
// meets a Forbidden. Installing again changes nothing; `flotilla uninstall`
// removes the controller and leaves what it deployed.
func TestInstalledControllerNeedsNoMore(t *testing.T) {
	const ns = "install-e2e"
	ctx := context.Background()
	hubCtx := env.Fleet.Clusters[0].Name
	kube := []string{"--kubeconfig", env.Fleet.Kubeconfig(), "--context", hubCtx}
	out := harness.MustRun(t, flotillaBin, append([]string{"install", "--controller", "--namespace", ns, "--in-cluster=false"}, kube...)...)
	for _, want := range []string{"Role/flotilla-controller installed", "Deployment/flotilla-controller installed", "NetworkPolicy/flotilla-controller installed"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	t.Cleanup(func() { releaseAll(ns) })
	// Installing again is an upgrade in place: same objects, no error.
	if again := harness.MustRun(t, flotillaBin, append([]string{"install", "--controller", "--namespace", ns, "--in-cluster=false"}, kube...)...); again != out {
		t.Errorf("a second install said otherwise:\n%s\nfirst:\n%s", again, out)
	}

	kc := serviceAccountKubeconfig(t, ns, "flotilla-controller")
	replica, err := env.StartReplica("installed", "--kubeconfig", kc, "--context", "sa", "--namespace", ns, "--shards", "--shard-id", "installed")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Stop)
	defer func() {
		if t.Failed() {
			t.Logf("what the installed controller was refused:\n%s", strings.Join(forbiddenLines(replica.Log()), "\n"))
		}
	}()

	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	gitserver.NewRepo(t, root, "installed").Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	create := func(obj client.Object) {
		t.Helper()
		obj.SetNamespace(ns)
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-dev-3"}, Data: map[string][]byte{"kubeconfig": env.KubeconfigFor(t, "dev-3")}})
	create(&flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "dev-3"},
		Spec: flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: "cluster-dev-3"}}})
	spec := harness.PlainApp(srv.URL("installed"), "app", "install-e2e-apps")
	spec.Destination.Cluster = "dev-3"
	create(&flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: "installed"}, Spec: spec})
	waitAppIn(t, ns, "installed", "Synced by the installed controller", harness.Synced)
	work := env.Fleet.Cluster("dev-3")
	workClient, err := client.New(work.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cm := client.ObjectKey{Namespace: "install-e2e-apps", Name: "good"}
	if err := workClient.Get(ctx, cm, &corev1.ConfigMap{}); err != nil {
		t.Fatalf("the synced ConfigMap: %v", err)
	}
	t.Cleanup(func() {
		_ = workClient.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "install-e2e-apps"}})
	})
	// Give the Cluster reconciler and the shard member a few rounds.
	time.Sleep(3 * time.Second)
	if forbidden := forbiddenLines(replica.Log()); len(forbidden) > 0 {
		t.Fatalf("the installed controller needed more than its Role")
	}

	out = harness.MustRun(t, flotillaBin, append([]string{"uninstall", "--namespace", ns, "--keep-crds"}, kube...)...)
	for _, want := range []string{"Deployment/flotilla-controller deleted", "Role/flotilla-controller deleted", "ServiceAccount/flotilla-controller deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("uninstall output lacks %q:\n%s", want, out)
		}
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flotilla-controller"}, &rbacv1.Role{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Role after uninstall: %v, want NotFound", err)
	}
	if err := workClient.Get(ctx, cm, &corev1.ConfigMap{}); err != nil {
		t.Errorf("uninstall took what Flotilla deployed with it: %v", err)
	}
}

// forbiddenLines are the first lines of a log that say forbidden.
func forbiddenLines(log string) []string {
	return regexp.MustCompile(`(?i)[^\n]*forbidden[^\n]*`).FindAllString(log, 5)
}

// serviceAccountKubeconfig writes a kubeconfig for the hub with a token of
// the ServiceAccount, in a context named "sa".
func serviceAccountKubeconfig(t *testing.T, ns, sa string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	var tok *authenticationv1.TokenRequest
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		tok, err = cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
		}, metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("a token for %s/%s: %v", ns, sa, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hub"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// releaseAll lets the Applications of a namespace no controller serves go,
// and the namespace with them.
func releaseAll(ns string) {
	ctx := context.Background()
	var apps flotillav1.ApplicationList
	if err := env.Client.List(ctx, &apps, client.InNamespace(ns)); err == nil {
		for i := range apps.Items {
			a := &apps.Items[i]
			patch := client.MergeFrom(a.DeepCopy())
			a.Finalizers = nil
			_ = env.Client.Patch(ctx, a, patch)
		}
	}
	_ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
}
