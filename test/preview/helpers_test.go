package preview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// agentName is the name the CLI runs under in these tests: client-go
// sends the program's name as its user agent, so that the audit logs tell
// the CLI's requests from the controller's.
const agentName = "flotilla-preview"

// statusToken is the stand-in's token; no output may show it.
const statusToken = "status-token-5f1d8c"

// cli runs the flotilla binary as agentName, not logged in to any server,
// against the hub of the local fleet's kubeconfig.
type cli struct {
	t      *testing.T
	bin    string
	config string
	cache  string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, agentName)
	if err := os.Symlink(flotillaBin, bin); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, bin: bin, config: filepath.Join(dir, "config.yaml"), cache: filepath.Join(dir, "cache")}
}

// preview runs `flotilla KIND preview NAME ARGS... --kubeconfig --hub-context`
// and returns its standard output, its error output and its exit code.
func (c *cli) preview(kind, name string, args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append([]string{"--config", c.config, kind, "preview", name,
		"--kubeconfig", env.Fleet.Kubeconfig(), "--hub-context", env.Fleet.Clusters[0].Name,
		"--allow-local-repos", "--cache-dir", c.cache}, args...)
	cmd := exec.CommandContext(ctx, c.bin, full...)
	cmd.Env = append(os.Environ(), "FLOTILLA_STATUS_TOKEN="+statusToken)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatalf("flotilla %v: %v", full, err)
	}
	if strings.Contains(out.String()+errOut.String(), statusToken) {
		c.t.Errorf("flotilla %s preview %s printed the status token", kind, name)
	}
	return out.String(), errOut.String(), code
}

// previewJSON runs a preview with -o json and decodes its answer.
func (c *cli) previewJSON(kind, name string, args ...string) (wire.FleetPreview, int) {
	c.t.Helper()
	out, errOut, code := c.preview(kind, name, append(args, "-o", "json")...)
	var p wire.FleetPreview
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		c.t.Fatalf("%s preview %s %v: exit %d, not JSON: %v\n%s%s", kind, name, args, code, err, out, errOut)
	}
	return p, code
}

// statusServer is a stand-in of GitHub's and Gitea's status API on
// loopback: it records every request and answers 201.
type statusServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []statusRequest
}

type statusRequest struct {
	Method, Path, Auth string
	Body               map[string]string
}

func newStatusServer(t *testing.T) *statusServer {
	s := &statusServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		req := statusRequest{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
		_ = json.Unmarshal(raw, &req.Body)
		s.mu.Lock()
		s.got = append(s.got, req)
		s.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id": 1}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *statusServer) requests() []statusRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]statusRequest(nil), s.got...)
}

// audited counts the CLI's requests (writes, and dry-runs, which prove it
// reached the cluster) in the audit log of the cluster c. The API server
// writes an event once the response is complete, so the count is read
// again until two reads 200 ms apart agree.
func audited(t *testing.T, c *localfleet.Cluster) localfleet.AuditCounts {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last, err := c.CountRequests(agentName + "/")
	for {
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		n, nerr := c.CountRequests(agentName + "/")
		if nerr == nil && n == last {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s: the CLI's audited requests still change: %+v, then %+v", c.Name, last, n)
		}
		last, err = n, nerr
	}
}

// changes are the objects a preview would create, update or delete.
func changes(c wire.ClusterPreview) []wire.ResourceDiff {
	var out []wire.ResourceDiff
	for _, r := range c.Resources {
		if r.Action != wire.DiffNone && r.Action != "" {
			out = append(out, r)
		}
	}
	return out
}
