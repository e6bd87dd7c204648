package api

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// cliCanary is the value of the Secret the CLI test's Application syncs; no
// output of the CLI may show it.
const cliCanary = "cli-canary-Zp7Qw3Lk"

// cliWorkload is a ConfigMap whose value changes by commit, a Secret
// holding the canary, and a Deployment whose Pods have logs.
func cliWorkload(value string) map[string]string {
	return map[string]string{"app/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: good
data:
  k: ` + value + `
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  token: ` + cliCanary + `
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: web, image: registry.example/web:1}
`}
}

// cli runs the flotilla binary with a config file of its own, and keeps
// every output to search for secrets at the end.
type cli struct {
	t      *testing.T
	config string
	mu     sync.Mutex
	seen   bytes.Buffer
}

// run runs flotilla with args and stdin; it answers stdout, stderr and the
// exit code.
func (c *cli) run(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return c.runContext(ctx, stdin, args...)
}

func (c *cli) runContext(ctx context.Context, stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, flotillaBin, append([]string{"--config", c.config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatalf("flotilla %v: %v", args, err)
	}
	c.mu.Lock()
	c.seen.Write(out.Bytes())
	c.seen.Write(errOut.Bytes())
	c.mu.Unlock()
	return out.String(), errOut.String(), code
}

// ok runs flotilla and fails the test unless it exits 0 with want in its
// standard output.
func (c *cli) ok(want string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run("", args...)
	if code != 0 || !strings.Contains(out, want) {
		c.t.Fatalf("flotilla %s: exit %d, want 0 and %q in the output\n%s%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// TestCLI drives the CLI against a real server, hub and workload cluster:
// login, lists, create, diff's exit codes, sync --wait with its progress and
// its failure, wait's timeout, tree, logs (also followed), history,
// rollback, a password change and logout; neither the synced Secret's
// value, nor a password, nor the session token appears in any output.
func TestCLI(t *testing.T) {
	srv := api(t)
	password := initialAdminPassword()
	c := &cli{t: t, config: filepath.Join(t.TempDir(), "flotilla", "config.yaml")}
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, serverCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("Logged in to "+srv.URL+" as admin", "login", srv.URL, "--username", "admin", "--password", password,
		"--certificate-authority", ca, "--name", "e2e")
	if fi, err := os.Stat(c.config); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the config file: %v, %v; want mode 0600", fi, err)
	}
	token := contextToken(t, c.config)
	c.ok("e2e", "context")

	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", cliWorkload("one"))
	env.RegisterCluster(t, "cli-dev-1", "dev-1", nil)
	ns := harness.TestNamespace(t)
	if err := env.Work.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	c.ok("application/cli created", "app", "create", "cli", "--repo", git.URL("fleet"), "--path", "app", "--revision", "main",
		"--dest-cluster", "cli-dev-1", "--dest-namespace", ns)
	t.Cleanup(func() { c.run("", "app", "delete", "cli") })
	env.WaitApp(t, "cli", time.Minute, "compared", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == first })

	list := c.ok("cli", "app", "list", "-n", flotillav1.DefaultNamespace)
	if !regexp.MustCompile(`(?m)^NAME\s+PROJECT\s+CLUSTER\s+SYNC\s+HEALTH\s+REVISION\s+AGE$`).MatchString(list) ||
		!regexp.MustCompile(`(?m)^cli\s+default\s+cli-dev-1\s+OutOfSync\s`).MatchString(list) {
		t.Errorf("app list should be a table with cli OutOfSync:\n%s", list)
	}
	c.ok("application/cli\n", "app", "list", "-o", "name", "--cluster", "cli-dev-1")
	// Shell completion asks the server for names.
	if out := c.ok("\n:4\n", "__complete", "app", "get", "cl"); !regexp.MustCompile(`(?m)^cli$`).MatchString(out) {
		t.Errorf("completion of app get cl should offer cli:\n%s", out)
	}
	c.ok("kind: Application", "app", "get", "cli", "-o", "yaml")
	c.ok("cli-dev-1", "cluster", "list")
	c.ok("NAME", "project", "list")
	c.ok("", "fleet", "list")
	cliClusters(t, c)

	cliDiff(t, c, 1, "to create")
	cliSync(t, c, ns, "one")
	c.ok("Healthy", "app", "wait", "cli", "--health", "--timeout", "2m")
	cliDiff(t, c, 0, "No differences")
	cliLogs(t, c, ns)

	second := repo.Commit("main", cliWorkload("two"))
	c.ok("Refresh of application flotilla-system/cli requested", "app", "refresh", "cli")
	env.WaitApp(t, "cli", time.Minute, "compared at the second commit", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == second })
	cliSync(t, c, ns, "two")
	cliHistoryAndRollback(t, c, ns, first)
	cliFailures(t, c, repo)

	c.ok("Logged out of "+srv.URL, "logout")
	if data, _ := os.ReadFile(c.config); strings.Contains(string(data), token) {
		t.Error("logout left the token in the config file")
	}
	if _, errOut, code := c.run("", "app", "list"); code == 0 || !strings.Contains(errOut, "logged out of") {
		t.Errorf("app list after logout: exit %d, %s", code, errOut)
	}
	cliPasswordChange(t, c, srv.URL, ca)

	for name, secret := range map[string]string{"the Secret's value": cliCanary, "the admin password": password, "the session token": token} {
		if strings.Contains(c.seen.String(), secret) {
			t.Errorf("%s appears in the CLI's output", name)
		}
	}
}

// serverCA is the server's self-signed certificate.
func serverCA(t *testing.T) []byte {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "flotilla-server-tls"}, &s); err != nil {
		t.Fatal(err)
	}
	return s.Data[corev1.TLSCertKey]
}

// contextToken reads the token the CLI keeps in its config file.
func contextToken(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*token: (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no token in the config file")
	}
	return string(m[1])
}

// cliClusters registers dev-3 through the server (the ServiceAccount set up
// with the test's kubeconfig, only its token sent), shows and removes it.
func cliClusters(t *testing.T, c *cli) {
	t.Helper()
	dev3 := env.Fleet.Clusters[3].Name
	c.ok("Cluster flotilla-system/cli-dev-3 is registered", "cluster", "add", dev3, "--kubeconfig", env.Fleet.Kubeconfig(), "--name", "cli-dev-3")
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: flotillav1.DefaultNamespace, Name: "cli-dev-3"}})
	})
	c.ok("cli-dev-3", "cluster", "get", "cli-dev-3")
	c.ok("deleted Cluster flotilla-system/cli-dev-3", "cluster", "rm", "cli-dev-3")
	if out, _, code := c.run("", "cluster", "get", "cli-dev-3"); code == 0 {
		t.Errorf("cluster get after rm: exit 0\n%s", out)
	}
}

// cliDiff runs `app diff cli` and checks its exit code and output.
func cliDiff(t *testing.T, c *cli, code int, want string) {
	t.Helper()
	out, errOut, got := c.run("", "app", "diff", "cli")
	if got != code || !strings.Contains(out, want) {
		t.Fatalf("app diff: exit %d, want %d with %q\n%s%s", got, code, want, out, errOut)
	}
}

// cliSync syncs with --wait and checks the ConfigMap has value.
func cliSync(t *testing.T, c *cli, ns, value string) {
	t.Helper()
	out := c.ok("Sync of application flotilla-system/cli succeeded", "app", "sync", "cli", "--wait", "--timeout", "2m")
	if !strings.Contains(out, "Sync of application flotilla-system/cli requested") || !strings.Contains(out, "operation") {
		t.Errorf("sync --wait should show its progress:\n%s", out)
	}
	if got := workConfigMap(t, ns); got != value {
		t.Errorf("k=%q after the sync, want %q", got, value)
	}
}

// workConfigMap is the value of the ConfigMap good in dev-1.
func workConfigMap(t *testing.T, ns string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := env.Work.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "good"}, &cm); err != nil {
		t.Fatalf("ConfigMap %s/good in dev-1: %v", ns, err)
	}
	return cm.Data["k"]
}

// cliLogs checks tree and logs: the last lines, the canary masked, and a
// follow that prints a line appended after it started.
func cliLogs(t *testing.T, c *cli, ns string) {
	t.Helper()
	var pod string
	eventually(t, "a Pod in the tree", func() bool {
		out, _, _ := c.run("", "app", "tree", "cli", "-o", "name")
		m := regexp.MustCompile(`(?m)^pod/(\S+)$`).FindStringSubmatch(out)
		if m != nil {
			pod = m[1]
		}
		return m != nil
	})
	c.ok("Deployment", "app", "tree", "cli")
	dev1 := env.Fleet.Clusters[1]
	tag := ns
	if err := dev1.AppendPodLog("web", time.Now(), tag+" one", tag+" secret "+cliCanary, tag+" three"); err != nil {
		t.Fatal(err)
	}
	out := c.ok(tag+" three\n", "app", "logs", "cli", "--pod", pod, "--tail", "2")
	if strings.Contains(out, tag+" one") || !strings.Contains(out, tag+" secret ++++++++") {
		t.Errorf("logs --tail 2: %q", out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := make(chan string, 1)
	go func() {
		out, _, _ := c.runContext(ctx, "", "app", "logs", "cli", "--pod", pod, "-f", "--tail", "1")
		followed <- out
	}()
	eventually(t, "the followed line", func() bool {
		_ = dev1.AppendPodLog("web", time.Now(), tag+" followed")
		time.Sleep(time.Second)
		out, _, _ := c.run("", "app", "logs", "cli", "--pod", pod, "--tail", "1")
		return strings.Contains(out, tag+" followed")
	})
	time.Sleep(2 * time.Second)
	cancel()
	if out := <-followed; !strings.Contains(out, tag+" followed") {
		t.Errorf("logs -f did not print the line appended after it started: %q", out)
	}
}

// cliHistoryAndRollback lists the history, rolls back to the first entry
// (the first commit) with --wait, and unpins.
func cliHistoryAndRollback(t *testing.T, c *cli, ns, first string) {
	t.Helper()
	out := c.ok(first[:7], "app", "history", "cli")
	if !regexp.MustCompile(`(?m)^ID\s+REVISION`).MatchString(out) || strings.Count(out, "\n") < 3 {
		t.Errorf("history should be a table of two syncs:\n%s", out)
	}
	c.ok("pinned to history entry 1", "app", "rollback", "cli", "1", "--wait", "--timeout", "2m")
	if got := workConfigMap(t, ns); got != "one" {
		t.Errorf("k=%q after the rollback to the first entry, want one", got)
	}
	c.ok("unpinned", "app", "rollback", "cli", "0")
	env.WaitApp(t, "cli", time.Minute, "unpinned", func(a *flotillav1.Application) bool { return a.Status.Pin == nil })
}

// cliFailures: a sync that fails exits non-zero with the cause, and a wait
// that cannot be met exits non-zero when its timeout passes.
func cliFailures(t *testing.T, c *cli, repo *gitserver.Repo) {
	t.Helper()
	repo.Commit("main", map[string]string{"app/all.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\ndata:\n  k: v\n"})
	c.ok("requested", "app", "refresh", "cli")
	env.WaitApp(t, "cli", time.Minute, "the bad commit refused", func(a *flotillav1.Application) bool {
		r := harness.ReadyCondition(a)
		return r != nil && r.Status == metav1.ConditionFalse
	})
	out, errOut, code := c.run("", "app", "sync", "cli", "--wait", "--timeout", "2m")
	if code == 0 || !strings.Contains(errOut, "sync of application flotilla-system/cli failed") {
		t.Errorf("a failing sync --wait: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = c.run("", "app", "wait", "cli", "--sync", "--timeout", "3s")
	// It ends at the timeout, or earlier when the controller reports the
	// Application stalled: non-zero either way.
	if code == 0 || !strings.Contains(errOut, "wait for application flotilla-system/cli") {
		t.Errorf("app wait --sync on an Application that cannot sync: exit %d\n%s%s", code, out, errOut)
	}
}

// cliPasswordChange logs in as a local account of its own (a change of
// the admin's password would end the other tests' sessions), changes its
// password, and logs in with the new one.
func cliPasswordChange(t *testing.T, c *cli, url, ca string) {
	t.Helper()
	addAccount(t, "cli-user", "")
	const next = "cli-new-password-Vb2"
	if out, errOut, code := c.run("correct-horse-battery\n", "login", url, "--username", "cli-user", "--password-stdin",
		"--certificate-authority", ca, "--name", "user"); code != 0 || !strings.Contains(out, "as cli-user") {
		t.Fatalf("login as cli-user: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := c.run("correct-horse-battery\n"+next+"\n", "admin", "password", "--password-stdin")
	if code != 0 || !strings.Contains(out, "Password of cli-user") {
		t.Fatalf("admin password: exit %d\n%s%s", code, out, errOut)
	}
	// The session the server answered with the change is kept.
	if out, errOut, code := c.run("", "app", "list"); code != 0 {
		t.Errorf("app list with the new session: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := c.run("correct-horse-battery\n", "login", url, "--username", "cli-user", "--password-stdin", "--certificate-authority", ca); code == 0 {
		t.Errorf("the old password still logs in: %s", errOut)
	}
	c.ok("as cli-user", "login", url, "--username", "cli-user", "--password", next, "--certificate-authority", ca, "--name", "user")
	if strings.Contains(c.seen.String(), next) {
		t.Error("the new password appears in the CLI's output")
	}
}
