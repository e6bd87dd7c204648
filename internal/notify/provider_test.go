package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestWebhookSignedJSON(t *testing.T) {
	srv := newRecorder(t)
	key := []byte("s3cret-hmac-key")
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL + "/in"}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{SecretHMACKey: key}, nil)
	d.Emit(context.Background(), failed())
	if got := rec.next(t); got.Outcome != flotillav1.DeliveryDelivered || got.Attempts != 1 || got.Subject != "Application/shop-eu" {
		t.Fatalf("delivery = %+v", got)
	}
	req := srv.requests()[0]
	if req.Method != http.MethodPost || req.Path != "/in" || req.Header.Get(EventHeader) != flotillav1.EventSyncFailed {
		t.Errorf("request %s %s %s=%q", req.Method, req.Path, EventHeader, req.Header.Get(EventHeader))
	}
	// What a receiver computes, on its own.
	mac := hmac.New(sha256.New, key)
	mac.Write(req.Body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.Header.Get(SignatureHeader) != want {
		t.Errorf("signature %q, want %q", req.Header.Get(SignatureHeader), want)
	}
	if !VerifySignature(key, req.Body, req.Header.Get(SignatureHeader)) {
		t.Errorf("signature %q does not verify", req.Header.Get(SignatureHeader))
	}
	if VerifySignature([]byte("another key"), req.Body, req.Header.Get(SignatureHeader)) {
		t.Error("signature verifies with another key")
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"event": "SyncFailed", "severity": "error", "namespace": "ns", "project": "team-a", "fleet": "shop",
		"application": "shop-eu", "cluster": "eu", "object": "Deployment/shop/web", "revision": sha,
		"repoURL": "https://git.example.com/org/config.git", "message": failed().Message, "text": failed().Message,
		"time": "2026-01-02T03:04:05Z",
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestWebhookUnsignedWithoutKey(t *testing.T) {
	srv := newRecorder(t)
	n := notification("hook", flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	n.Spec.Provider.SecretRef = nil
	d, rec := start(t, Static{n}, nil, nil)
	d.Emit(context.Background(), failed())
	rec.next(t)
	if s := srv.requests()[0].Header.Get(SignatureHeader); s != "" {
		t.Errorf("signature %q without a key", s)
	}
}

func TestSlack(t *testing.T) {
	srv := newRecorder(t)
	// The address of a Slack webhook is its credential: from the Secret.
	n := notification("slack", flotillav1.NotificationProvider{Type: flotillav1.ProviderSlack}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{SecretAddress: []byte(srv.srv.URL + "/services/T0/B0/XXXX\n")}, nil)
	d.Emit(context.Background(), failed())
	rec.next(t)
	req := srv.requests()[0]
	if req.Path != "/services/T0/B0/XXXX" {
		t.Errorf("path %q", req.Path)
	}
	var got slackPayload
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := slackPayload{
		Text: "*SyncFailed Application/shop-eu*\n" + failed().Message,
		Attachments: []slackAttachment{{Color: "danger", Fields: []slackField{
			{Title: "Project", Value: "team-a", Short: true}, {Title: "Fleet", Value: "shop", Short: true},
			{Title: "Application", Value: "shop-eu", Short: true}, {Title: "Cluster", Value: "eu", Short: true},
			{Title: "Object", Value: "Deployment/shop/web", Short: true}, {Title: "Revision", Value: sha, Short: false},
		}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestTeams(t *testing.T) {
	srv := newRecorder(t)
	n := notification("teams", flotillav1.NotificationProvider{Type: flotillav1.ProviderTeams, URL: srv.srv.URL + "/workflows/x?sig=abc"}, flotillav1.EventSyncFailed)
	n.Spec.Provider.SecretRef = nil
	d, rec := start(t, Static{n}, nil, nil)
	d.Emit(context.Background(), failed())
	rec.next(t)
	var got map[string]any
	if err := json.Unmarshal(srv.requests()[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	att := got["attachments"].([]any)[0].(map[string]any)
	card := att["content"].(map[string]any)
	body := card["body"].([]any)
	if got["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" {
		t.Errorf("not an Adaptive Card message: %s", srv.requests()[0].Body)
	}
	if body[0].(map[string]any)["text"] != "SyncFailed Application/shop-eu" || body[1].(map[string]any)["text"] != failed().Message {
		t.Errorf("card body %v", body)
	}
	if facts := body[2].(map[string]any)["facts"].([]any); len(facts) != 6 {
		t.Errorf("facts %v", facts)
	}
}

func TestCommitStatuses(t *testing.T) {
	cases := []struct {
		kind, repo, path, header, auth string
		want                           map[string]string
	}{
		{
			kind: flotillav1.ProviderGitHub, repo: "https://github.com/org/config.git",
			path: "/repos/org/config/statuses/" + sha, header: "Authorization", auth: "Bearer tok-123",
			want: map[string]string{"state": "failure", "context": "flotilla/shop-eu", "description": "dry-run failed"},
		},
		{
			kind: flotillav1.ProviderGitLab, repo: "git@gitlab.example.com:group/sub/config.git",
			path: "/api/v4/projects/group%2Fsub%2Fconfig/statuses/" + sha, header: "Private-Token", auth: "tok-123",
			want: map[string]string{"state": "failed", "name": "flotilla/shop-eu", "description": "dry-run failed"},
		},
		{
			kind: flotillav1.ProviderGitea, repo: "ssh://git@gitea.example.com:2222/org/config",
			path: "/api/v1/repos/org/config/statuses/" + sha, header: "Authorization", auth: "token tok-123",
			want: map[string]string{"state": "failure", "context": "flotilla/shop-eu", "description": "dry-run failed"},
		},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			srv := newRecorder(t)
			n := notification(c.kind, flotillav1.NotificationProvider{Type: c.kind, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
			n.Spec.Template = "dry-run failed"
			d, rec := start(t, Static{n}, secrets{SecretToken: []byte("tok-123")}, nil)
			ev := failed()
			ev.RepoURL = c.repo
			d.Emit(context.Background(), ev)
			if got := rec.next(t); got.Outcome != flotillav1.DeliveryDelivered {
				t.Fatalf("delivery = %+v", got)
			}
			req := srv.requests()[0]
			if req.Path != c.path {
				t.Errorf("path %q, want %q", req.Path, c.path)
			}
			if got := req.Header.Get(c.header); got != c.auth {
				t.Errorf("%s = %q, want %q", c.header, got, c.auth)
			}
			var body map[string]string
			if err := json.Unmarshal(req.Body, &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// The API's URL is derived from the source's, and the token sent there over
// https, or plain http to a loopback address only: a source served over
// plain http elsewhere gets no token.
func TestCommitStatusEndpointDefaults(t *testing.T) {
	const gitea = flotillav1.ProviderGitea
	cases := []struct{ kind, repo, want, refused string }{
		{kind: flotillav1.ProviderGitHub, repo: "https://github.com/org/app", want: "https://api.github.com/repos/org/app/statuses/" + sha},
		{kind: flotillav1.ProviderGitHub, repo: "https://ghe.example.com/org/app.git", want: "https://ghe.example.com/api/v3/repos/org/app/statuses/" + sha},
		{kind: flotillav1.ProviderGitLab, repo: "https://gitlab.example.com/a/b/c.git", want: "https://gitlab.example.com/api/v4/projects/a%2Fb%2Fc/statuses/" + sha},
		{kind: gitea, repo: "http://gitea.local:3000/org/app",
			refused: "provider gitea: invalid provider URL: refusing to send a token over plain http to http://gitea.local:3000; use https"},
		{kind: flotillav1.ProviderGitHub, repo: "http://ghe.example.com/org/app",
			refused: "provider github: invalid provider URL: refusing to send a token over plain http to http://ghe.example.com:80; use https"},
		{kind: gitea, repo: "http://127.0.0.1:3000/org/app", want: "http://127.0.0.1:3000/api/v1/repos/org/app/statuses/" + sha},
		{kind: gitea, repo: "http://[::1]:3000/org/app", want: "http://[::1]:3000/api/v1/repos/org/app/statuses/" + sha},
		{kind: gitea, repo: "http://localhost:3000/org/app", want: "http://localhost:3000/api/v1/repos/org/app/statuses/" + sha},
	}
	for _, c := range cases {
		p := &commitStatus{kind: c.kind, token: "tok-123"}
		host, repo, err := repoOf(c.repo, 20)
		if err != nil {
			t.Fatalf("%s: %v", c.repo, err)
		}
		wire := &offline{}
		err = p.set(context.Background(), wire.client(), host, repo, sha, StateSuccess, "flotilla/app", "")
		var want []string
		if c.want != "" {
			want = []string{c.want}
		}
		if diff := cmp.Diff(want, wire.requests()); diff != "" {
			t.Errorf("%s %s: sent (-want +got):\n%s", c.kind, c.repo, diff)
		}
		if got := errText(err); got != c.refused {
			t.Errorf("%s %s: error %q, want %q", c.kind, c.repo, got, c.refused)
		}
	}
	for _, bad := range []string{"oci://registry.example/app", "https://github.com/org", "https://github.com/org/../x", "/local/path"} {
		if _, _, err := repoOf(bad, 2); err == nil {
			t.Errorf("repoOf(%q) accepted", bad)
		}
	}
}

// A commit-status provider whose url is plain http to an address off this
// machine sends nothing: the refusal comes before any connection (the
// address, in TEST-NET-1, is never dialled), names the provider and the
// address, not the token, and is not tried again.
func TestCommitStatusRefusesPlainHTTP(t *testing.T) {
	for _, kind := range []string{flotillav1.ProviderGitHub, flotillav1.ProviderGitLab, flotillav1.ProviderGitea} {
		p, err := newProvider(flotillav1Provider(kind, "http://192.0.2.1:9"), secrets{SecretToken: []byte("tok-123")})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		wire := &offline{}
		err = p.send(context.Background(), wire.client(), Message{Event: failed(), Text: "dry-run failed"})
		want := "provider " + kind + ": invalid provider URL: refusing to send a token over plain http to http://192.0.2.1:9; use https"
		if errText(err) != want || !errors.Is(err, ErrInvalidURL) || retryable(err) {
			t.Errorf("%s: error %v, want %q, not retryable", kind, err, want)
		}
		if sent := wire.requests(); len(sent) != 0 {
			t.Errorf("%s: sent %v", kind, sent)
		}
	}
	// Through the Dispatcher, whose client dials: refused once, at once.
	n := notification("gitea", flotillav1Provider(flotillav1.ProviderGitea, "http://192.0.2.1:9"), flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{SecretToken: []byte("tok-123")}, nil)
	began := time.Now()
	d.Emit(context.Background(), failed())
	got := rec.next(t)
	if got.Outcome != flotillav1.DeliveryFailed || got.Attempts != 1 || strings.Contains(got.Message, "tok-123") ||
		!strings.Contains(got.Message, "refusing to send a token over plain http to http://192.0.2.1:9") {
		t.Errorf("delivery = %+v, want refused once, naming the address", got)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("refused after %s: an address was dialled", took)
	}
}

func TestCommitStatusNeedsACommit(t *testing.T) {
	srv := newRecorder(t)
	n := notification("gh", flotillav1.NotificationProvider{Type: flotillav1.ProviderGitHub, URL: srv.srv.URL}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{SecretToken: []byte("tok-123")}, nil)
	ev := failed()
	ev.Revision = "sha256:abcd"
	d.Emit(context.Background(), ev)
	got := rec.next(t)
	if got.Outcome != flotillav1.DeliveryFailed || got.Attempts != 1 || !strings.Contains(got.Message, "not a git commit") {
		t.Errorf("delivery = %+v, want one failed attempt: not a git commit", got)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestAlertmanager(t *testing.T) {
	srv := newRecorder(t)
	n := notification("am", flotillav1.NotificationProvider{Type: flotillav1.ProviderAlertmanager, URL: srv.srv.URL + "/am/"}, flotillav1.EventSyncFailed)
	d, rec := start(t, Static{n}, secrets{SecretToken: []byte("am-token")}, nil)
	d.Emit(context.Background(), failed())
	rec.next(t)
	req := srv.requests()[0]
	if req.Path != "/am/api/v2/alerts" || req.Header.Get("Authorization") != "Bearer am-token" {
		t.Errorf("request %s, Authorization %q", req.Path, req.Header.Get("Authorization"))
	}
	var alerts []Alert
	if err := json.Unmarshal(req.Body, &alerts); err != nil || len(alerts) != 1 {
		t.Fatalf("alerts %s: %v", req.Body, err)
	}
	wantLabels := map[string]string{
		"alertname": "SyncFailed", "severity": "error", "namespace": "ns", "source": "flotilla", "project": "team-a",
		"fleet": "shop", "application": "shop-eu", "cluster": "eu", "object": "Deployment/shop/web",
	}
	if diff := cmp.Diff(wantLabels, alerts[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if a := alerts[0]; a.Annotations["description"] != failed().Message || !a.StartsAt.Equal(failed().Time) || !a.EndsAt.After(a.StartsAt) {
		t.Errorf("alert %+v", a)
	}
}

// Alertmanager's token, when there is one, goes over plain http to a
// loopback address only; without a token plain http is the operator's call.
func TestAlertmanagerTokenNotOverPlainHTTP(t *testing.T) {
	spec := flotillav1Provider(flotillav1.ProviderAlertmanager, "http://192.0.2.1:9/am")
	p, err := newProvider(spec, secrets{SecretToken: []byte("am-token")})
	if err != nil {
		t.Fatal(err)
	}
	wire := &offline{}
	err = p.send(context.Background(), wire.client(), Message{Event: failed(), Text: "x"})
	const want = "provider alertmanager: invalid provider URL: refusing to send a token over plain http to http://192.0.2.1:9; use https"
	if errText(err) != want || retryable(err) {
		t.Errorf("error %v, want %q, not retryable", err, want)
	}
	if sent := wire.requests(); len(sent) != 0 {
		t.Errorf("sent %v", sent)
	}
	if p, err = newProvider(spec, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.send(context.Background(), wire.client(), Message{Event: failed(), Text: "x"}); err != nil {
		t.Errorf("without a token: %v", err)
	}
	if diff := cmp.Diff([]string{"http://192.0.2.1:9/am/api/v2/alerts"}, wire.requests()); diff != "" {
		t.Errorf("sent without a token (-want +got):\n%s", diff)
	}
}
