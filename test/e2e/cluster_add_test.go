package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// waitCluster polls the Cluster until cond holds, failing with its status
// and the controller's log otherwise.
func waitCluster(t *testing.T, name string, timeout time.Duration, what string, cond func(*flotillav1.Cluster) bool) *flotillav1.Cluster {
	t.Helper()
	c := &flotillav1.Cluster{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, c); err != nil {
			return false, nil
		}
		return cond(c), nil
	})
	if err != nil {
		t.Fatalf("Cluster %s: %s: %v\nstatus: %+v\ncontroller log:\n%s", name, what, err, c.Status, env.ControllerLogTail(40))
	}
	return c
}

func clusterReady(c *flotillav1.Cluster) *metav1.Condition {
	return meta.FindStatusCondition(c.Status.Conditions, flotillav1.ConditionReady)
}

// unavailable holds when the controller reported the Cluster unusable, with
// a message containing why.
func unavailable(why string) func(*flotillav1.Cluster) bool {
	return func(c *flotillav1.Cluster) bool {
		r := clusterReady(c)
		return r != nil && !c.Status.Connected && r.Status == metav1.ConditionFalse &&
			r.Reason == flotillav1.ReasonClusterUnavailable && strings.Contains(r.Message, why)
	}
}

// newCluster creates a Cluster and its credentials Secret in the hub, both
// deleted when the test ends.
func newCluster(t *testing.T, name string, spec flotillav1.ClusterSpec, data map[string][]byte) {
	t.Helper()
	env.CreateSecret(t, "cluster-"+name, data)
	spec.CredentialsRef = &flotillav1.LocalObjectReference{Name: "cluster-" + name}
	c := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace}, Spec: spec}
	if err := env.Client.Create(context.Background(), c); err != nil {
		t.Fatalf("create Cluster %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), c) })
}

// TestClusterAddListRemove is the story of `flotilla cluster add|list|rm`:
// dev-1 is registered through a ServiceAccount, the controller reports it
// connected, an Application syncs to it, the list shows it, and removing it
// from the hub leaves what was deployed in dev-1. The ServiceAccount's token
// appears in no output, status or log.
func TestClusterAddListRemove(t *testing.T) {
	const name = "reg-dev-1"
	kubeconfig := env.Fleet.Kubeconfig()
	hubArgs := []string{"--kubeconfig", kubeconfig, "--context", "hub"}
	start := time.Now()
	added := harness.MustRun(t, flotillaBin, "cluster", "add", "dev-1", "--kubeconfig", kubeconfig, "--hub-context", "hub",
		"--name", name, "--label", "env=test")
	t.Cleanup(func() { _, _ = harness.Run(flotillaBin, append([]string{"cluster", "rm", name}, hubArgs...)...) })
	t.Logf("cluster add took %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"ClusterRole flotilla-manager", "Secret flotilla-system/cluster-reg-dev-1 created", "Cluster flotilla-system/reg-dev-1 is registered"} {
		if !strings.Contains(added, want) {
			t.Errorf("cluster add output lacks %q:\n%s", want, added)
		}
	}
	token := env.RegisteredToken(t, name)

	c := waitCluster(t, name, time.Minute, "connected", func(c *flotillav1.Cluster) bool {
		return c.Status.Connected && c.Status.KubernetesVersion == localfleet.KubernetesVersion
	})
	t.Logf("connected %s after cluster add", time.Since(start).Round(time.Millisecond))
	if r := clusterReady(c); r == nil || r.Status != metav1.ConditionTrue || c.Status.LastHeartbeat == nil {
		t.Errorf("a connected Cluster should be Ready with a heartbeat: %+v", c.Status)
	}
	if want := env.Fleet.Cluster("dev-1").Server; c.Spec.Server != want || c.Spec.Mode != flotillav1.ClusterModePush {
		t.Errorf("spec = %+v, want server %s in push mode", c.Spec, want)
	}

	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := repo.Commit("main", guestbook(1, true))
	spec := harness.PlainApp(srv.URL("fleet"), "apps/guestbook/overlays/dev", ns)
	spec.Destination.Cluster = name
	newApp(t, "reg-app", spec)
	env.WaitApp(t, "reg-app", 2*time.Minute, "Synced on reg-dev-1", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == commit
	})
	waitDeployment(t, env.Work, ns, "dev-guestbook", 1)
	counted := waitCluster(t, name, 30*time.Second, "counting one Application", func(c *flotillav1.Cluster) bool { return c.Status.Applications == 1 })
	assertNotRewritten(t, counted, 3*time.Second)

	listed := assertListed(t, hubArgs, name)

	removed := harness.MustRun(t, flotillaBin, append([]string{"cluster", "rm", name}, hubArgs...)...)
	for _, want := range []string{"deleted Cluster flotilla-system/reg-dev-1", "deleted Secret flotilla-system/cluster-reg-dev-1", "reg-app"} {
		if !strings.Contains(removed, want) {
			t.Errorf("cluster rm output lacks %q:\n%s", want, removed)
		}
	}
	for _, obj := range []client.Object{&flotillav1.Cluster{}, &corev1.Secret{}} {
		key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}
		if _, ok := obj.(*corev1.Secret); ok {
			key.Name = "cluster-" + name
		}
		if err := env.Client.Get(context.Background(), key, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s is still in the hub after cluster rm (err=%v)", obj, key.Name, err)
		}
	}
	// The Application can no longer reach its cluster: it says so, and
	// deletes nothing there.
	app := env.WaitApp(t, "reg-app", time.Minute, "ClusterUnavailable", harness.FailedWith(flotillav1.ReasonClusterUnavailable))
	time.Sleep(3 * time.Second) // a few more intervals
	waitDeployment(t, env.Work, ns, "dev-guestbook", 1)
	var sa corev1.ServiceAccount
	if err := env.Work.Get(context.Background(), client.ObjectKey{Namespace: "flotilla-system", Name: "flotilla-manager"}, &sa); err != nil {
		t.Errorf("cluster rm without --target-context must leave the ServiceAccount in dev-1: %v", err)
	}

	for what, text := range map[string]string{
		"cluster add output": added, "cluster list output": listed, "cluster rm output": removed,
		"Cluster status": statusJSON(t, c.Status), "Application status": statusJSON(t, app.Status),
		"controller log": env.ControllerLog(),
	} {
		if strings.Contains(text, token) {
			t.Errorf("the %s holds the ServiceAccount token", what)
		}
	}
}

// assertNotRewritten checks that the controller leaves a Cluster whose
// state does not change alone for d: its own status patches, and the
// Applications' status patches, do not wake it, and a fresh heartbeat is
// not rewritten.
func assertNotRewritten(t *testing.T, c *flotillav1.Cluster, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	var now flotillav1.Cluster
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(c), &now); err != nil {
		t.Fatal(err)
	}
	if now.ResourceVersion != c.ResourceVersion {
		t.Errorf("Cluster %s was rewritten with nothing new: status %+v, then %+v", c.Name, c.Status, now.Status)
	}
}

// assertListed checks `cluster list` in JSON and as a table, and returns
// both outputs.
func assertListed(t *testing.T, hubArgs []string, name string) string {
	t.Helper()
	raw := harness.MustRun(t, flotillaBin, append([]string{"cluster", "list", "-o", "json"}, hubArgs...)...)
	var list flotillav1.ClusterList
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		t.Fatalf("cluster list -o json: %v\n%s", err, raw)
	}
	i := slices.IndexFunc(list.Items, func(c flotillav1.Cluster) bool { return c.Name == name })
	if i < 0 {
		t.Fatalf("cluster list -o json lacks %s:\n%s", name, raw)
	}
	got := list.Items[i]
	if got.Labels["env"] != "test" || !got.Status.Connected || got.Status.KubernetesVersion != localfleet.KubernetesVersion || got.Status.Applications != 1 {
		t.Errorf("cluster list -o json: %s = labels %v status %+v, want env=test, connected, %s, 1 Application",
			name, got.Labels, got.Status, localfleet.KubernetesVersion)
	}
	table := harness.MustRun(t, flotillaBin, append([]string{"cluster", "list"}, hubArgs...)...)
	lines := strings.Split(table, "\n")
	if !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "APPLICATIONS") {
		t.Errorf("cluster list header: %q", lines[0])
	}
	row := ""
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			row = l
		}
	}
	want := []string{name, got.Spec.Server, "push", "true", localfleet.KubernetesVersion, "1"}
	if f := strings.Fields(row); len(f) != 8 || !slices.Equal(f[:6], want) || f[7] != "env=test" {
		t.Errorf("cluster list row = %q, want %v, an age and env=test", row, want)
	}
	return raw + table
}

func statusJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestClusterExecCredentialsRefused: a Cluster whose kubeconfig runs a
// program is refused (Ready=False, ClusterUnavailable, naming the exec
// plugin) and the program never runs.
func TestClusterExecCredentialsRefused(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	dev1 := env.Fleet.Cluster("dev-1")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["dev-1"] = &clientcmdapi.Cluster{Server: dev1.Server, CertificateAuthorityData: dev1.CACert}
	kc.AuthInfos["exec-user"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: "/bin/sh", Args: []string{"-c", "touch " + marker},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	kc.Contexts["dev-1"] = &clientcmdapi.Context{Cluster: "dev-1", AuthInfo: "exec-user"}
	kc.CurrentContext = "dev-1"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	newCluster(t, "exec-creds", flotillav1.ClusterSpec{}, map[string][]byte{"kubeconfig": data})
	c := waitCluster(t, "exec-creds", time.Minute, "refused", unavailable(`user "exec-user" runs an exec plugin`))
	t.Logf("Ready: %s", clusterReady(c).Message)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the exec plugin ran (err=%v)", err)
	}
}

// TestClusterUnreachable: a Cluster whose server does not answer is
// reported not connected, saying so, and its token appears nowhere.
func TestClusterUnreachable(t *testing.T) {
	port, err := harness.FreePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	const token = "canary-cluster-token-K4m9Qx2"
	server := "https://127.0.0.1:" + strconv.Itoa(port)
	newCluster(t, "unreachable", flotillav1.ClusterSpec{Server: server}, map[string][]byte{
		"bearerToken": []byte(token), "caData": env.Fleet.Cluster("dev-1").CACert,
	})
	c := waitCluster(t, "unreachable", time.Minute, "not connected", unavailable("unreachable at "+server))
	t.Logf("Ready: %s", clusterReady(c).Message)
	if c.Status.KubernetesVersion != "" || c.Status.LastHeartbeat != nil {
		t.Errorf("a cluster never reached has no version or heartbeat: %+v", c.Status)
	}
	for what, text := range map[string]string{"status": statusJSON(t, c.Status), "controller log": env.ControllerLog()} {
		if strings.Contains(text, token) {
			t.Errorf("the %s holds the Cluster's token", what)
		}
	}
}
