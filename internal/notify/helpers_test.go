package notify

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// request is what a recording server received.
type request struct {
	Method string
	Path   string // escaped, as sent
	Header http.Header
	Body   []byte
}

// recorder is a local HTTP server that records every request and answers
// each with the next of its statuses (200 once they run out).
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []request
	// statuses answer the requests in turn.
	statuses []int
	arrived  chan struct{}
}

func newRecorder(t *testing.T, statuses ...int) *recorder {
	t.Helper()
	r := &recorder{statuses: statuses, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{Method: req.Method, Path: req.URL.EscapedPath(), Header: req.Header.Clone(), Body: body})
		status := http.StatusOK
		if n := len(r.got); n <= len(r.statuses) {
			status = r.statuses[n-1]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"message":"recorded"}`))
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// wait waits for n requests in all.
func (r *recorder) wait(t *testing.T, n int) []request {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.requests()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("%d requests arrived, want %d", len(r.requests()), n)
		}
	}
	return r.requests()
}

// offline is a transport that sends nothing over the network: it records
// each request's URL and answers 200, so that a test sees what a provider
// would send, and that a refused one sends nothing.
type offline struct {
	mu   sync.Mutex
	sent []string
}

func (o *offline) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	o.sent = append(o.sent, r.URL.String())
	o.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

func (o *offline) client() *http.Client { return &http.Client{Transport: o} }

func (o *offline) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.sent...)
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// deliveries records what the Dispatcher writes to status.
type deliveries struct {
	ch chan flotillav1.NotificationDelivery
}

func (d *deliveries) Record(_ context.Context, _ *flotillav1.Notification, rec flotillav1.NotificationDelivery) error {
	d.ch <- rec
	return nil
}

func (d *deliveries) next(t *testing.T) flotillav1.NotificationDelivery {
	t.Helper()
	select {
	case rec := <-d.ch:
		return rec
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery recorded")
	}
	return flotillav1.NotificationDelivery{}
}

// secrets hands every Notification the same Secret data.
type secrets map[string][]byte

func (s secrets) SecretData(context.Context, *flotillav1.Notification) (map[string][]byte, error) {
	return s, nil
}

// notification is a Notification of namespace "ns" for events to p.
func notification(name string, p flotillav1.NotificationProvider, events ...string) flotillav1.Notification {
	if p.SecretRef == nil {
		p.SecretRef = &flotillav1.LocalObjectReference{Name: "hook"}
	}
	return flotillav1.Notification{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       flotillav1.NotificationSpec{Events: events, Provider: p},
	}
}

// start runs a Dispatcher over routes with test options: loopback allowed,
// retries 10ms apart.
func start(t *testing.T, routes Static, sec secrets, tune func(*Options)) (*Dispatcher, *deliveries) {
	t.Helper()
	rec := &deliveries{ch: make(chan flotillav1.NotificationDelivery, 100)}
	opts := DefaultOptions()
	opts.Routes, opts.Secrets, opts.Recorder = routes, sec, rec
	opts.Addresses = AddressRule{AllowLoopback: true}
	opts.Log = slog.New(slog.DiscardHandler)
	opts.Backoff, opts.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	if tune != nil {
		tune(&opts)
	}
	d := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, rec
}

const sha = "0123456789abcdef0123456789abcdef01234567"

// failed is a SyncFailed of Application shop-eu of Fleet shop.
func failed() Event {
	return Event{
		Name: flotillav1.EventSyncFailed, Namespace: "ns", Project: "team-a", Fleet: "shop", Application: "shop-eu",
		Cluster: "eu", Object: "Deployment/shop/web", Revision: sha,
		RepoURL: "https://git.example.com/org/config.git",
		Message: "Deployment/shop/web: dry-run failed (Invalid): spec.replicas: must be >= 0",
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func flotillav1Provider(kind, url string) flotillav1.NotificationProvider {
	return flotillav1.NotificationProvider{Type: kind, URL: url}
}
