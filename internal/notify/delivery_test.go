package notify

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestRetriedUntilDelivered(t *testing.T) {
	srv := newRecorder(t, http.StatusBadGateway, http.StatusTooManyRequests)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	key := []byte("k")
	d, rec := start(t, Static{n}, secrets{SecretHMACKey: key}, nil)
	d.Emit(context.Background(), failed())
	got := rec.next(t)
	if got.Outcome != flotillav1.DeliveryDelivered || got.Attempts != 3 {
		t.Fatalf("delivery = %+v, want delivered at the third attempt", got)
	}
	reqs := srv.requests()
	for i, r := range reqs {
		if string(r.Body) != string(reqs[0].Body) || !VerifySignature(key, r.Body, r.Header.Get(SignatureHeader)) {
			t.Errorf("attempt %d is not the same signed body", i+1)
		}
	}
}

func TestRetriesBounded(t *testing.T) {
	srv := newRecorder(t, 500, 500, 500, 500, 500, 500)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{}, func(o *Options) { o.Attempts = 4 })
	d.Emit(context.Background(), failed())
	got := rec.next(t)
	if got.Outcome != flotillav1.DeliveryFailed || got.Attempts != 4 || !strings.Contains(got.Message, "500 Internal Server Error") {
		t.Errorf("delivery = %+v, want failed after 4 attempts naming the 500", got)
	}
	if n := len(srv.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestRefusalNotRetried(t *testing.T) {
	srv := newRecorder(t, http.StatusUnauthorized)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{}, nil)
	d.Emit(context.Background(), failed())
	if got := rec.next(t); got.Outcome != flotillav1.DeliveryFailed || got.Attempts != 1 {
		t.Errorf("delivery = %+v, want one failed attempt", got)
	}
}

// A flapping Application: the same event again and again within the
// window is sent once; another event, or the same after the window, is
// sent.
func TestDuplicatesDropped(t *testing.T) {
	srv := newRecorder(t)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed, flotillav1.EventHealthDegraded)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	d, rec := start(t, Static{n}, secrets{}, func(o *Options) { o.Now, o.Window = clock.now, time.Minute })
	ctx := context.Background()
	for i := range 5 {
		ev := failed()
		ev.Message = "attempt " + string(rune('0'+i)) // the message alone does not make news
		d.Emit(ctx, ev)
	}
	rec.next(t)
	degraded := failed()
	degraded.Name = flotillav1.EventHealthDegraded
	d.Emit(ctx, degraded)
	rec.next(t)
	clock.add(2 * time.Minute)
	d.Emit(ctx, failed())
	rec.next(t)
	if got := len(srv.wait(t, 3)); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if got := d.Dropped(); got != 4 {
		t.Errorf("dropped %d, want 4", got)
	}
}

func TestRateLimited(t *testing.T) {
	srv := newRecorder(t)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	other := notification("other", n.Spec.Provider, flotillav1.EventSyncFailed)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	d, rec := start(t, Static{n, other}, secrets{}, func(o *Options) { o.Now, o.Burst, o.PerMinute = clock.now, 3, 6 })
	ctx := context.Background()
	emit := func(i int) {
		ev := failed()
		ev.Application = "app-" + string(rune('a'+i))
		d.Emit(ctx, ev)
	}
	for i := range 10 {
		emit(i)
	}
	// Each Notification has its own bucket: 3 each.
	for range 6 {
		rec.next(t)
	}
	clock.add(10 * time.Second) // one more token each at 6 a minute
	emit(10)
	emit(11)
	for range 2 {
		rec.next(t)
	}
	if got := len(srv.wait(t, 8)); got != 8 {
		t.Errorf("%d requests, want 8", got)
	}
	if got := d.Dropped(); got != 2*7+2 {
		t.Errorf("dropped %d, want 16", got)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The address of a Slack webhook and the tokens are secrets: a failure
// names the provider's host and status only.
func TestSecretsNotInErrors(t *testing.T) {
	srv := newRecorder(t, 403)
	const path = "/services/T0/B0/very-secret-path"
	n := notification("slack", flotillav1.NotificationProvider{Type: flotillav1.ProviderSlack}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{SecretAddress: []byte(srv.srv.URL + path)}, nil)
	d.Emit(context.Background(), failed())
	got := rec.next(t)
	if got.Outcome != flotillav1.DeliveryFailed || strings.Contains(got.Message, "very-secret-path") || !strings.Contains(got.Message, srv.srv.URL+" answered 403") {
		t.Errorf("delivery message %q: want the host and status, not the path", got.Message)
	}
	// Unreachable: the client's error repeats the URL; it must not.
	srv.srv.Close()
	ev := failed()
	ev.Revision = "another"
	d.Emit(context.Background(), ev)
	got = rec.next(t)
	if got.Outcome != flotillav1.DeliveryFailed || strings.Contains(got.Message, "very-secret-path") {
		t.Errorf("delivery message %q holds the secret path", got.Message)
	}
}

func TestAddressRules(t *testing.T) {
	srv := newRecorder(t)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{}, func(o *Options) { o.Addresses = AddressRule{} })
	d.Emit(context.Background(), failed())
	got := rec.next(t)
	if got.Outcome != flotillav1.DeliveryFailed || got.Attempts != 1 || !strings.Contains(got.Message, "loopback") {
		t.Errorf("delivery = %+v, want refused once: loopback", got)
	}
	if len(srv.requests()) != 0 {
		t.Error("a request reached the loopback server")
	}
	meta := notification("meta", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: "http://169.254.169.254/latest"}, flotillav1.EventSyncFailed)
	d, rec = start(t, Static{meta}, secrets{}, nil)
	d.Emit(context.Background(), failed())
	if got := rec.next(t); got.Outcome != flotillav1.DeliveryFailed || !strings.Contains(got.Message, "link-local") {
		t.Errorf("delivery = %+v, want refused: link-local", got)
	}
}

func TestMatches(t *testing.T) {
	ev := failed()
	ev.Severity = DefaultSeverity(ev.Name)
	base := notification("n", flotillav1.NotificationProvider{Type: "webhook"}, flotillav1.EventSyncFailed)
	cases := []struct {
		name string
		edit func(*flotillav1.Notification)
		want bool
	}{
		{"event named", func(*flotillav1.Notification) {}, true},
		{"event not named", func(n *flotillav1.Notification) { n.Spec.Events = []string{"HealthDegraded"} }, false},
		{"other namespace", func(n *flotillav1.Notification) { n.Namespace = "other" }, false},
		{"project", func(n *flotillav1.Notification) { n.Spec.Projects = []string{"x", "team-a"} }, true},
		{"other project", func(n *flotillav1.Notification) { n.Spec.Projects = []string{"team-b"} }, false},
		{"fleet", func(n *flotillav1.Notification) { n.Spec.Fleets = []string{"shop"} }, true},
		{"other fleet", func(n *flotillav1.Notification) { n.Spec.Fleets = []string{"infra"} }, false},
		{"application", func(n *flotillav1.Notification) { n.Spec.Applications = []string{"shop-eu"} }, true},
		{"other application", func(n *flotillav1.Notification) { n.Spec.Applications = []string{"shop-us"} }, false},
		{"severity error", func(n *flotillav1.Notification) { n.Spec.Severity = "error" }, true},
		{"suspended", func(n *flotillav1.Notification) { n.Spec.Suspend = true }, false},
	}
	for _, c := range cases {
		n := base.DeepCopy()
		c.edit(n)
		if got := Matches(n, ev); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
	drift := Event{Name: flotillav1.EventDriftDetected, Namespace: "ns", Severity: "warning"}
	n := base.DeepCopy()
	n.Spec.Events, n.Spec.Severity = []string{flotillav1.EventDriftDetected}, "error"
	if Matches(n, drift) {
		t.Error("a warning passed a Notification of errors only")
	}
	disconnected := Event{Name: flotillav1.EventClusterDisconnected, Namespace: "ns", Cluster: "eu", Severity: "error"}
	n.Spec.Events, n.Spec.Severity, n.Spec.Projects = []string{flotillav1.EventClusterDisconnected}, "", []string{"team-a"}
	if Matches(n, disconnected) {
		t.Error("a Cluster's event matched a Project selector")
	}
}
