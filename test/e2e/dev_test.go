package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestDevUpDown is the `flotilla dev` story: a fleet of three clusters that
// outlives the command, usable with kubectl, and gone without a trace after
// `dev down`.
func TestDevUpDown(t *testing.T) {
	state := t.TempDir()
	out := harness.MustRun(t, flotillaBin, "dev", "up", "--clusters", "3", "--state", state, "--examples", "../../examples")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_, _ = harness.Run(flotillaBin, "dev", "down", "--state", state)
		}
	})
	for _, want := range []string{"hub", "dev-1", "dev-2", "Ready", "flotilla dev down", "The example Applications are Synced", "user admin, password "} {
		if !strings.Contains(out, want) {
			t.Errorf("dev up output lacks %q:\n%s", want, out)
		}
	}
	demoAPISeesExamples(t, out)

	again, err := harness.Run(flotillaBin, "dev", "up", "--state", state)
	if err == nil || !strings.Contains(again, "already running") {
		t.Errorf("a second dev up should refuse, got err=%v:\n%s", err, again)
	}

	kubeconfig := filepath.Join(state, "kubeconfig")
	env := harness.MustRun(t, flotillaBin, "dev", "env", "--state", state)
	if got, want := strings.TrimSpace(env), "export KUBECONFIG="+kubeconfig; got != want {
		t.Errorf("dev env = %q, want %q", got, want)
	}

	nodes := harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", "dev-1", "get", "nodes", "--no-headers")
	if fields := strings.Fields(nodes); len(fields) < 2 || fields[0] != "kwok-node-0" || fields[1] != "Ready" {
		t.Errorf("kubectl get nodes on dev-1: want kwok-node-0 Ready, got:\n%s", nodes)
	}
	var version struct {
		ServerVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
	}
	raw := harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", "dev-1", "version", "-o", "json")
	if err := json.Unmarshal([]byte(raw), &version); err != nil {
		t.Fatalf("kubectl version: %v\n%s", err, raw)
	}
	if version.ServerVersion.GitVersion != "v1.37.2" {
		t.Errorf("server version = %q, want v1.37.2", version.ServerVersion.GitVersion)
	}

	status := harness.MustRun(t, flotillaBin, "dev", "status", "--state", state)
	if strings.Count(status, "Ready") != 3 || strings.Contains(status, "NotReady") {
		t.Errorf("dev status should show three Ready clusters:\n%s", status)
	}

	deployments := harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", "dev-2", "-n", "guestbook", "get", "deployment", "guestbook", "--no-headers")
	if fields := strings.Fields(deployments); len(fields) < 2 || fields[1] != "3/3" {
		t.Errorf("the prod example should run 3 of 3 replicas on dev-2:\n%s", deployments)
	}

	// The shop Fleet rolled out in its two waves: canary dev-1, then dev-2.
	for _, cl := range []string{"dev-1", "dev-2"} {
		shop := harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", cl, "-n", "shop", "get", "deployment", "shop", "--no-headers")
		if fields := strings.Fields(shop); len(fields) < 2 || fields[1] != "2/2" {
			t.Errorf("the shop Fleet should run 2 of 2 replicas on %s:\n%s", cl, shop)
		}
	}
	waves := harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", "hub", "-n", "flotilla-system",
		"get", "fleet", "shop", "-o", "jsonpath={range .status.waves[*]}{.name}={.clusters}{\"\\n\"}{end}")
	if want := "canary=[\"dev-1\"]\nrest=[\"dev-2\"]\n"; waves != want {
		t.Errorf("the shop Fleet's status should show its waves canary (dev-1) then rest (dev-2):\n%s\nwant:\n%s", waves, want)
	}

	pids, addrs := fleetProcesses(t, state)
	if len(pids) != 17 {
		t.Fatalf("state lists %d processes, want 5 for each of 3 clusters, the controller and the server", len(pids))
	}
	harness.MustRun(t, flotillaBin, "dev", "down", "--state", state)
	stopped = true
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("process %d still running after dev down", pid)
		}
	}
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s still taken after dev down: %v", addr, err)
			continue
		}
		_ = l.Close()
	}
	if entries, _ := os.ReadDir(state); len(entries) != 0 {
		t.Errorf("dev down left files in the state folder: %v", entries)
	}
	if out, err := harness.Run(flotillaBin, "dev", "status", "--state", state); err == nil || !strings.Contains(out, "no local fleet") {
		t.Errorf("dev status after down should say no fleet runs, got err=%v:\n%s", err, out)
	}
}

// fleetProcesses reads the state file that dev up wrote: every component's
// process id and every port the fleet listens on.
func fleetProcesses(t *testing.T, state string) (pids []int, addrs []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(state, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Extras []struct {
			PID int `json:"pid"`
		} `json:"extras"`
		Clusters []struct {
			Ports     map[string]int `json:"ports"`
			Processes []struct {
				PID int `json:"pid"`
			} `json:"processes"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Extras {
		pids = append(pids, p.PID)
	}
	for _, c := range s.Clusters {
		for _, p := range c.Processes {
			pids = append(pids, p.PID)
		}
		for _, port := range c.Ports {
			addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
		}
	}
	return pids, addrs
}

// processAlive reports whether pid runs, waiting a little for the kernel to
// finish tearing it down.
func processAlive(pid int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for localfleet.ProcessAlive(pid) {
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// demoAPISeesExamples logs in to the server `dev up` started with the URL,
// certificate and password it printed, and finds the examples listed.
func demoAPISeesExamples(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  (https://127\.0\.0\.1:[0-9]+)/?\n  user admin, password (\S+) `).FindStringSubmatch(out)
	ca := regexp.MustCompile(`--cacert (\S+) `).FindStringSubmatch(out)
	if m == nil || ca == nil {
		t.Errorf("dev up printed no server URL, password and certificate:\n%s", out)
		return
	}
	pem, err := os.ReadFile(ca[1])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	login, _ := json.Marshal(map[string]string{"username": "admin", "password": m[2]})
	resp, err := hc.Post(m[1]+"/api/v1/session", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	var session struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&session)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || session.Token == "" {
		t.Fatalf("login with the printed password: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodGet, m[1]+"/api/v1/applications", nil)
	req.Header.Set("Authorization", "Bearer "+session.Token)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "guestbook") {
		t.Errorf("the examples through the API: %d %.300s", resp.StatusCode, body)
	}
}
