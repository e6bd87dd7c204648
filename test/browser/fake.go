package browser

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// FakeAPI answers the read routes of docs/api.md that the UI uses with
// recorded objects shaped like the server's (Kubernetes objects and the
// wire types). It is only for states a real fleet cannot produce or cannot
// produce cheaply: values no API server accepts (script payloads in
// labels), 1,000 Applications over 50 clusters for the render benchmark,
// every status colour at once for the contrast test. Everything else the
// UI does, writes included, is tested against a real `flotilla server`
// (test/ui, TestUIOnRealFleet). It refuses every write.
type FakeAPI struct {
	Password string
	SSO      wire.SSOSettings

	mu       sync.Mutex
	apps     map[string]map[string]any
	clusters []map[string]any
	fleets   []map[string]any
	tokens   map[string]bool
	Tree     wire.Tree
	Manifest map[string]any
	Diff     wire.Diff
	Logs     string
}

// NewFakeAPI serves the given objects.
func NewFakeAPI(apps, clusters, fleets []map[string]any) *FakeAPI {
	f := &FakeAPI{Password: "fleet-admin-pw", apps: map[string]map[string]any{}, clusters: clusters, fleets: fleets,
		tokens: map[string]bool{}}
	for _, a := range apps {
		f.apps[objKey(a)] = a
	}
	return f
}

func objKey(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%v/%v", md["namespace"], md["name"])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code wire.Code, msg string) {
	writeJSON(w, code.Status(), wire.Error{Code: code, Message: msg})
}

func (f *FakeAPI) authed(r *http.Request) bool {
	c, err := r.Cookie("flotilla_session")
	f.mu.Lock()
	defer f.mu.Unlock()
	return err == nil && f.tokens[c.Value]
}

// Register adds the API's routes to mux.
func (f *FakeAPI) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/settings", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, wire.Settings{Version: "test", SSO: f.SSO, PasswordLogin: true})
	})
	mux.HandleFunc("POST /api/v1/session", f.login)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if !f.authed(r) {
			fail(w, wire.CodeUnauthenticated, "no session")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.URL.Path != "/api/v1/session" {
			fail(w, wire.CodeForbidden, "the recorded API takes no writes")
			return
		}
		f.route(w, r)
	})
}

func (f *FakeAPI) login(w http.ResponseWriter, r *http.Request) {
	var req wire.LoginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		fail(w, wire.CodeBadRequest, "bad body")
		return
	}
	if req.Username != "admin" || req.Password != f.Password {
		fail(w, wire.CodeUnauthenticated, "wrong user name or password")
		return
	}
	f.mu.Lock()
	tok := fmt.Sprintf("tok-%d", time.Now().UnixNano())
	f.tokens[tok] = true
	f.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "flotilla_session", Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: "flotilla_csrf", Value: "csrf-" + tok, Path: "/", SameSite: http.SameSiteLaxMode})
	writeJSON(w, 200, wire.Token{Token: tok, ExpiresAt: time.Now().Add(time.Hour)})
}

func (f *FakeAPI) route(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/api/v1/")
	parts := strings.Split(p, "/")
	switch {
	case p == "session" && r.Method == http.MethodGet:
		c, _ := r.Cookie("flotilla_csrf")
		writeJSON(w, 200, wire.Session{Username: "admin", ExpiresAt: time.Now().Add(time.Hour), CSRFToken: c.Value})
	case p == "session" && r.Method == http.MethodDelete:
		f.mu.Lock()
		f.tokens = map[string]bool{}
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case p == "applications":
		f.mu.Lock()
		items := make([]map[string]any, 0, len(f.apps))
		for _, a := range f.apps {
			items = append(items, a)
		}
		f.mu.Unlock()
		sort.Slice(items, func(i, j int) bool { return objKey(items[i]) < objKey(items[j]) })
		writeJSON(w, 200, wire.List[map[string]any]{Items: items, Total: len(items)})
	case p == "clusters":
		writeJSON(w, 200, wire.List[map[string]any]{Items: f.clusters, Total: len(f.clusters)})
	case p == "fleets":
		writeJSON(w, 200, wire.List[map[string]any]{Items: f.fleets, Total: len(f.fleets)})
	case p == "stream":
		f.stream(w, r)
	case parts[0] == "applications" && len(parts) >= 3:
		f.app(w, r, parts[1]+"/"+parts[2], strings.Join(parts[3:], "/"))
	default:
		fail(w, wire.CodeNotFound, "no such route")
	}
}

func (f *FakeAPI) app(w http.ResponseWriter, r *http.Request, key, sub string) {
	f.mu.Lock()
	a, ok := f.apps[key]
	f.mu.Unlock()
	if !ok {
		fail(w, wire.CodeNotFound, "application "+key+" not found")
		return
	}
	switch sub {
	case "":
		writeJSON(w, 200, a)
	case "tree":
		writeJSON(w, 200, f.Tree)
	case "resource":
		writeJSON(w, 200, f.Manifest)
	case "diff":
		writeJSON(w, 200, f.Diff)
	case "events":
		writeJSON(w, 200, []wire.Event{{Type: "Normal", Reason: "Synced", Message: "applied 3 objects", Object: wire.ObjectRef{Kind: "Application", Name: "x"}, Count: 1, LastSeen: time.Now()}})
	case "logs":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(f.Logs))
	default:
		fail(w, wire.CodeNotFound, "no such route")
	}
}

// stream holds the event stream open with comments: the recorded objects
// never change.
func (f *FakeAPI) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		fail(w, wire.CodeInternal, "no streaming")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	_, _ = w.Write([]byte(": hello\n\n"))
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(15 * time.Second):
			_, _ = w.Write([]byte(": ping\n\n"))
			fl.Flush()
		}
	}
}

// Fixture makes n Applications over c clusters: n/c Fleets, each with one
// generated Application per cluster (so 1,000 over 50 clusters is 20
// fleets × 50 clusters), in mixed states.
func Fixture(n, c int) (apps, clusters, fleets []map[string]any) {
	states := [][2]string{{"Synced", "Healthy"}, {"Synced", "Healthy"}, {"Synced", "Healthy"}, {"OutOfSync", "Healthy"},
		{"Synced", "Progressing"}, {"Synced", "Degraded"}, {"Unknown", "Missing"}}
	for j := 0; j < c; j++ {
		name := fmt.Sprintf("cluster-%02d", j)
		clusters = append(clusters, map[string]any{
			"apiVersion": "flotilla.dev/v1alpha1", "kind": "Cluster",
			"metadata": map[string]any{"name": name, "namespace": "flotilla-system", "labels": map[string]any{"env": []string{"prod", "staging"}[j%2], "region": fmt.Sprintf("r%d", j%3)}},
			"spec":     map[string]any{"server": "https://10.0.0." + strconv.Itoa(j) + ":6443", "mode": "push"},
			"status":   map[string]any{"connected": j%17 != 16, "kubernetesVersion": "v1.37.2", "lastHeartbeat": time.Now().Add(-time.Duration(j) * time.Second).UTC().Format(time.RFC3339), "applications": n / c},
		})
	}
	for i := 0; i < n; i++ {
		fleet := fmt.Sprintf("fleet-%03d", i/c)
		cl := fmt.Sprintf("cluster-%02d", i%c)
		st := states[(i*3+i/c)%len(states)]
		apps = append(apps, App("flotilla-system", fleet+"-"+cl, cl, fleet, st[0], st[1], revision(i/c)))
	}
	for k := 0; k < n/c; k++ {
		fleets = append(fleets, map[string]any{
			"apiVersion": "flotilla.dev/v1alpha1", "kind": "Fleet",
			"metadata": map[string]any{"name": fmt.Sprintf("fleet-%03d", k), "namespace": "flotilla-system"},
			"spec":     map[string]any{"project": "default"},
			"status":   map[string]any{"revision": revision(k), "summary": map[string]any{"clusters": c, "synced": c - 3, "healthy": c - 4}},
		})
	}
	return apps, clusters, fleets
}

func revision(k int) string {
	sum := sha1.Sum([]byte(strconv.Itoa(k)))
	return hex.EncodeToString(sum[:])
}

// App is one Application object as the API answers it.
func App(ns, name, cluster, fleet, sync, health, rev string) map[string]any {
	labels := map[string]any{}
	if fleet != "" {
		labels["flotilla.dev/fleet"] = fleet
	}
	return map[string]any{
		"apiVersion": "flotilla.dev/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": labels, "resourceVersion": "1"},
		"spec": map[string]any{"project": "default",
			"source":      map[string]any{"repoURL": "https://git.example.com/org/config.git", "path": "apps/" + name, "targetRevision": "main"},
			"destination": map[string]any{"cluster": cluster, "namespace": "apps"}},
		"status": map[string]any{"sync": map[string]any{"status": sync, "revision": rev},
			"health":    map[string]any{"status": health},
			"operation": map[string]any{"phase": "Succeeded", "finishedAt": time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)}},
	}
}

// FlatFixture makes n Applications that no Fleet generated, spread over c
// clusters: the overview has one row per Application (n rows × c columns),
// the most rows it can have for n Applications.
func FlatFixture(n, c int) (apps, clusters, fleets []map[string]any) {
	grouped, clusters, _ := Fixture(n, c)
	for i, a := range grouped {
		md := a["metadata"].(map[string]any)
		md["labels"] = map[string]any{"team": fmt.Sprintf("team-%d", i%7)}
		md["name"] = fmt.Sprintf("app-%04d", i)
	}
	return grouped, clusters, nil
}
