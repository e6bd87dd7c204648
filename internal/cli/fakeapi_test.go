package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// The canaries of the CLI tests: neither may appear in any output.
const (
	testPassword = "canary-password-5f0c"
	testToken    = "canary-token-9d1e7a"
	testSSOCode  = "one-time-code-42"
)

// fakeAPI is an HTTP server that answers as docs/api.md says, over fixed
// objects, for the CLI's command tests. The end-to-end test in test/e2e
// runs the CLI against the real server.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server
	// noStream answers 404 on /api/v1/stream, as a server without it.
	noStream bool

	mu      sync.Mutex
	apps    map[string]*flotillav1.Application
	revoked bool
	gets    int
	// failSync makes the sync of these Applications fail.
	failSync map[string]bool
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, apps: map[string]*flotillav1.Application{}, failSync: map[string]bool{}}
	for _, a := range fixtureApps() {
		f.apps[a.Namespace+"/"+a.Name] = a.DeepCopy()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/settings", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, wire.Settings{Version: "test", PasswordLogin: true, SSO: wire.SSOSettings{Enabled: true, Name: "Example"}})
	})
	mux.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		var req wire.LoginRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Username != "admin" || req.Password != testPassword {
			f.error(w, wire.CodeUnauthenticated, "wrong username or password")
			return
		}
		f.json(w, wire.Token{Token: testToken, ExpiresAt: time.Now().Add(time.Hour)})
	})
	mux.HandleFunc("POST /api/v1/session/exchange", func(w http.ResponseWriter, r *http.Request) {
		var req wire.ExchangeRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Code != testSSOCode {
			f.error(w, wire.CodeUnauthenticated, "unknown code")
			return
		}
		f.json(w, wire.Token{Token: testToken, ExpiresAt: time.Now().Add(time.Hour)})
	})
	mux.HandleFunc("GET /auth/login", func(w http.ResponseWriter, r *http.Request) {
		cli := r.URL.Query().Get("cli")
		if !strings.HasPrefix(cli, "http://127.0.0.1:") {
			f.error(w, wire.CodeBadRequest, "cli must be a loopback address")
			return
		}
		http.Redirect(w, r, cli+"?code="+testSSOCode, http.StatusFound)
	})
	mux.Handle("/api/v1/", f.authenticated(f.routes()))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		revoked := f.revoked
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken || revoked {
			f.error(w, wire.CodeUnauthenticated, "no valid token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *fakeAPI) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, wire.Session{Username: "admin", ExpiresAt: time.Now().Add(time.Hour)})
	})
	mux.HandleFunc("DELETE /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.revoked = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/v1/applications", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var l wire.List[flotillav1.Application]
		for _, a := range fixtureApps() {
			l.Items = append(l.Items, *f.apps[a.Namespace+"/"+a.Name])
		}
		l.Total = len(l.Items)
		f.json(w, l)
	})
	mux.HandleFunc("GET /api/v1/applications/{ns}/{name}", func(w http.ResponseWriter, r *http.Request) {
		if app := f.app(w, r); app != nil {
			f.mu.Lock()
			f.gets++
			if f.gets > 1 && app.Status.Health.Status == flotillav1.HealthProgressing {
				app.Status.Health.Status = flotillav1.HealthHealthy
			}
			f.json(w, app)
			f.mu.Unlock()
		}
	})
	mux.HandleFunc("GET /api/v1/applications/{ns}/{name}/diff", func(w http.ResponseWriter, r *http.Request) {
		if app := f.app(w, r); app != nil {
			d := fixtureDiff()
			if app.Status.Sync.Status == flotillav1.SyncStatusSynced {
				d.Resources = d.Resources[2:]
			}
			f.json(w, d)
		}
	})
	mux.HandleFunc("GET /api/v1/applications/{ns}/{name}/history", func(w http.ResponseWriter, r *http.Request) {
		if f.app(w, r) != nil {
			f.json(w, fixtureHistory())
		}
	})
	mux.HandleFunc("GET /api/v1/applications/{ns}/{name}/tree", func(w http.ResponseWriter, r *http.Request) {
		if f.app(w, r) != nil {
			f.json(w, fixtureTree())
		}
	})
	mux.HandleFunc("GET /api/v1/applications/{ns}/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		if f.app(w, r) == nil {
			return
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s/%s started\nserving on :8080 (tail %s)", q.Get("namespace"), q.Get("pod"), q.Get("tailLines"))
	})
	mux.HandleFunc("POST /api/v1/applications/{ns}/{name}/sync", f.sync)
	mux.HandleFunc("GET /api/v1/stream", f.stream)
	return mux
}

// sync records the request as the server does, with a token annotation.
func (f *fakeAPI) sync(w http.ResponseWriter, r *http.Request) {
	app := f.app(w, r)
	if app == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	app.Annotations[flotillav1.SyncAnnotation] = "tok-1"
	f.json(w, app)
}

// stream sends each Application's state, then its state once the
// controller handled the sync request.
func (f *fakeAPI) stream(w http.ResponseWriter, r *http.Request) {
	if f.noStream {
		f.error(w, wire.CodeNotFound, "no such route")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	f.mu.Lock()
	var events []string
	for key, app := range f.apps {
		before, _ := json.Marshal(wire.StreamEvent{Kind: "Application", Object: mustJSON(app)})
		events = append(events, "event: ADDED\ndata: "+string(before)+"\n\n")
		after := app.DeepCopy()
		after.Status.LastHandledSync = app.Annotations[flotillav1.SyncAnnotation]
		after.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationSucceeded}
		if f.failSync[key] {
			after.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: "Deployment/web: apply failed (Invalid)"}
		}
		data, _ := json.Marshal(wire.StreamEvent{Kind: "Application", Object: mustJSON(after)})
		events = append(events, "event: MODIFIED\ndata: "+string(data)+"\n\n")
	}
	f.mu.Unlock()
	for i, ev := range events {
		fmt.Fprintf(w, "id: %d\n%s", i+1, ev)
	}
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

func (f *fakeAPI) app(w http.ResponseWriter, r *http.Request) *flotillav1.Application {
	f.mu.Lock()
	defer f.mu.Unlock()
	app, ok := f.apps[r.PathValue("ns")+"/"+r.PathValue("name")]
	if !ok {
		f.error(w, wire.CodeNotFound, fmt.Sprintf("application %s/%s not found", r.PathValue("ns"), r.PathValue("name")))
		return nil
	}
	return app
}

func (f *fakeAPI) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Error(err)
	}
}

func (f *fakeAPI) error(w http.ResponseWriter, code wire.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code.Status())
	_ = json.NewEncoder(w).Encode(wire.Error{Code: code, Message: msg})
}

// lockedBuffer is an output that a command and a test read at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
