package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// hub is a real control plane (etcd and kube-apiserver) that the tests
// share; each test keeps its state in a namespace of its own.
var hub client.Client

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Names: []string{"hub"}, Lean: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "auth tests need a local control plane (make k8s): %v\n", err)
		return 1
	}
	defer func() { _ = f.Stop() }()
	if hub, err = client.New(f.Clusters[0].RESTConfig(), client.Options{Scheme: clientgoscheme.Scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

var nsCount atomic.Int32

// namespace creates a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("auth-%d-%d", os.Getpid()%10000, nsCount.Add(1))
	if err := hub.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// logBuffer collects the service's log lines, to search them for secrets.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fixture is a Service over the hub, served by a TLS test server.
type fixture struct {
	ns   string
	svc  *Service
	srv  *httptest.Server
	logs *logBuffer
	opts Options
}

func newFixture(t *testing.T, ns string, edit func(*Options)) *fixture {
	t.Helper()
	logs := &logBuffer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{ServerURL: "https://" + ln.Addr().String(), Hub: hub, Namespace: ns, Version: "test", Logger: slog.New(slog.NewTextHandler(logs, nil)),
		BcryptCost: bcrypt.MinCost}
	if edit != nil {
		edit(&opts)
	}
	svc, err := New(context.Background(), opts)
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Register(mux)
	mux.HandleFunc("/api/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		p, err := svc.Authenticate(r)
		if err == nil {
			err = svc.CheckCSRF(r, p)
		}
		if err != nil {
			svc.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, wire.Session{Username: p.Username, Groups: p.Groups})
	})
	srv := httptest.NewUnstartedServer(mux)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &fixture{ns: ns, svc: svc, srv: srv, logs: logs, opts: opts}
}

// restart starts another server over the same hub and namespace, with the
// same address in its options (tokens name the server that issued them).
func (f *fixture) restart(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, f.ns, func(o *Options) { o.ServerURL = f.opts.ServerURL })
}

// do sends a request with a JSON body (nil for none) and returns the
// response and its body.
func (f *fixture) do(t *testing.T, method, path string, body any, header http.Header) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := *f.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login logs in and returns the token and the response.
func (f *fixture) login(t *testing.T, user, password string) (string, *http.Response) {
	t.Helper()
	resp, body := f.do(t, "POST", "/api/v1/session", wire.LoginRequest{Username: user, Password: password}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
	}
	var tok wire.Token
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		t.Fatal(err)
	}
	return tok.Token, resp
}

// whoami returns the status of an authenticated GET with the token.
func (f *fixture) whoami(t *testing.T, token string) int {
	t.Helper()
	resp, _ := f.do(t, "GET", "/api/v1/whoami", nil, bearerHeader(token))
	return resp.StatusCode
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// initialPassword reads the admin's initial password from the hub.
func initialPassword(t *testing.T, ns string) string {
	t.Helper()
	var s corev1.Secret
	if err := hub.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: InitialAdminSecret}, &s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data["password"])
}

// addAccount lists an account in the ConfigMap with its groups and sets
// its password.
func addAccount(t *testing.T, ns, name, groups, password string) {
	t.Helper()
	ctx := context.Background()
	_, err := hubMap{hub: hub, namespace: ns, name: AccountsName}.update(ctx, func(d map[string]string) error {
		d[name] = groups
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := setPassword(ctx, hub, ns, name, password, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
}

func mustNotContain(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains a secret", what)
		}
	}
}
