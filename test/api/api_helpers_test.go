package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// The API server the API tests share, started on first use.
var (
	apiOnce  sync.Once
	apiSrv   *harness.Server
	apiErr   error
	apiAdmin string
)

// api is the shared `flotilla server` and an admin's token.
func api(t *testing.T) *harness.Server {
	t.Helper()
	apiOnce.Do(func() {
		apiSrv, apiErr = env.StartServer()
		if apiErr == nil {
			apiAdmin, apiErr = loginWith(apiSrv, auth.AdminAccount, initialAdminPassword())
		}
	})
	if apiErr != nil {
		t.Fatalf("start the API server: %v", apiErr)
	}
	return apiSrv
}

// adminToken is the admin's session token.
func adminToken(t *testing.T) string {
	t.Helper()
	api(t)
	return apiAdmin
}

func initialAdminPassword() string {
	var s corev1.Secret
	_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: auth.InitialAdminSecret}, &s)
	return string(s.Data["password"])
}

// loginWith logs in, retrying for a few seconds: a new account reaches the
// server's cache of accounts within seconds.
func loginWith(s *harness.Server, user, password string) (string, error) {
	body, _ := json.Marshal(wire.LoginRequest{Username: user, Password: password})
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := s.Client.Post(s.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
		if err != nil {
			last = err
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = &httpError{resp.StatusCode, string(data)}
			continue
		}
		var tok wire.Token
		if err := json.Unmarshal(data, &tok); err != nil {
			return "", err
		}
		return tok.Token, nil
	}
	return "", last
}

type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return http.StatusText(e.status) + ": " + e.body }

// addAccount makes a local account with groups and returns its token.
func addAccount(t *testing.T, name, groups string) string {
	t.Helper()
	ctx := context.Background()
	const password = "correct-horse-battery"
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: auth.AccountsName}
	err := env.Client.Get(ctx, key, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Data: map[string]string{name: groups}}
		err = env.Client.Create(ctx, cm)
	case err == nil:
		patch := client.MergeFrom(cm.DeepCopy())
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[name] = groups
		err = env.Client.Patch(ctx, cm, patch)
	}
	if err != nil {
		t.Fatalf("account %s: %v", name, err)
	}
	if err := auth.SetPassword(ctx, env.Client, flotillav1.DefaultNamespace, name, password); err != nil {
		t.Fatalf("account %s: %v", name, err)
	}
	tok, err := loginWith(api(t), name, password)
	if err != nil {
		t.Fatalf("log in as %s: %v", name, err)
	}
	return tok
}

// call makes an API request and returns the status and body.
func call(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	s := api(t)
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	recordResponse(data)
	return resp.StatusCode, data
}

// expect makes a request, fails unless it answers want, and decodes the
// body into out (when not nil).
func expect(t *testing.T, token, method, path string, body any, want int, out any) []byte {
	t.Helper()
	status, data := call(t, token, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return data
}

// responses keeps every body the API answered in this run, for the tests
// that search them for secrets.
var (
	responsesMu sync.Mutex
	responses   bytes.Buffer
)

func recordResponse(data []byte) {
	responsesMu.Lock()
	defer responsesMu.Unlock()
	responses.Write(data)
	responses.WriteByte('\n')
}

func recordedResponses() string {
	responsesMu.Lock()
	defer responsesMu.Unlock()
	return responses.String()
}

// sse is one server-sent event.
type sse struct {
	id, event string
	data      wire.StreamEvent
}

// stream is an open /api/v1/stream.
type stream struct {
	events chan sse
	cancel context.CancelFunc
	// lastID is the last id the server sent (with or without an event).
	mu     sync.Mutex
	lastID string
	// seen holds every event next passed over or returned.
	seen []sse
}

// openStream connects to /api/v1/stream?query with token, resuming after
// lastID when it is set.
func openStream(t *testing.T, token, query, lastID string) *stream {
	t.Helper()
	return openStreamOn(t, api(t), token, query, lastID)
}

// openStreamAt opens the whole stream of another server.
func openStreamAt(t *testing.T, s *harness.Server, token string) *stream {
	t.Helper()
	return openStreamOn(t, s, token, "", "")
}

func openStreamOn(t *testing.T, s *harness.Server, token, query, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/stream?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := (&http.Client{Transport: s.Client.Transport}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		cancel()
		t.Fatalf("stream: %d: %s", resp.StatusCode, data)
	}
	st := &stream{events: make(chan sse, 1024), cancel: cancel}
	go st.read(resp.Body)
	t.Cleanup(st.close)
	return st
}

func (st *stream) close() { st.cancel() }

func (st *stream) read(body io.ReadCloser) {
	defer func() { _ = body.Close(); close(st.events) }()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	var cur sse
	var data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" {
				recordResponse([]byte(data))
				_ = json.Unmarshal([]byte(data), &cur.data)
				st.events <- cur
			}
			cur, data = sse{}, ""
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
			st.mu.Lock()
			st.lastID = cur.id
			st.mu.Unlock()
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func (st *stream) last() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lastID
}

// next waits for the next event whose object is named name (any event
// when name is empty).
func (st *stream) next(t *testing.T, name string, timeout time.Duration) sse {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				t.Fatalf("the stream ended while waiting for %q", name)
			}
			st.seen = append(st.seen, ev)
			if name == "" || objectName(ev) == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event for %q within %s", name, timeout)
		}
	}
}

// drain returns the events that arrive within d.
func (st *stream) drain(d time.Duration) []sse {
	var out []sse
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-deadline:
			return out
		}
	}
}

func objectName(ev sse) string {
	var m struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	_ = json.Unmarshal(ev.data.Object, &m)
	return m.Metadata.Name
}
