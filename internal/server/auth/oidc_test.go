package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/server/auth/oidctest"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// canarySecret is the OIDC client secret; no response or log may hold it.
const canarySecret = "canary-oidc-client-secret-7c1e0f"

// ssoFixture is a Flotilla auth Service configured for a real provider.
type ssoFixture struct {
	*fixture
	idp *oidctest.Provider
}

// newSSOFixture starts a Service and a provider that trust each other;
// edit may change the OIDC configuration.
func newSSOFixture(t *testing.T, secret string, edit func(o *OIDCConfig, idp *oidctest.Provider)) *ssoFixture {
	t.Helper()
	ns := namespace(t)
	err := hub.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "oidc"},
		Data:       map[string][]byte{"clientSecret": []byte(secret)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var idp *oidctest.Provider
	f := newFixture(t, ns, func(o *Options) {
		idp = oidctest.Start(t, canarySecret, o.ServerURL+"/auth/callback", "")
		o.OIDC = &OIDCConfig{Name: "Test IdP", Issuer: idp.Issuer, ClientID: oidctest.ClientID, ClientSecretName: "oidc", RootCAs: idp.Roots()}
		if edit != nil {
			edit(o.OIDC, idp)
		}
	})
	return &ssoFixture{fixture: f, idp: idp}
}

// recorder keeps every response Flotilla sends the browser, to search for
// secrets.
type recorder struct {
	next http.RoundTripper
	host string
	mu   sync.Mutex
	seen strings.Builder
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.URL.Host != r.host {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range resp.Header {
		r.seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	r.seen.Write(body)
	return resp, nil
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen.String()
}

// browser is an HTTP client with cookies that trusts both servers.
func (f *ssoFixture) browser(t *testing.T) (*http.Client, *recorder) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	pool.AddCert(f.idp.Server.Certificate())
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(f.srv.URL)
	rec := &recorder{next: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, host: u.Host}
	return &http.Client{Jar: jar, Transport: rec, Timeout: 30 * time.Second}, rec
}

// startLogin follows /auth/login to the provider's login page and returns
// its auth request id.
func startLogin(t *testing.T, c *http.Client, f *ssoFixture, query string) string {
	t.Helper()
	resp, err := c.Get(f.srv.URL + "/auth/login?" + query)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), f.idp.LoginPage()) {
		t.Fatalf("the login went to %s (%d), want the provider's login page", resp.Request.URL, resp.StatusCode)
	}
	return resp.Request.URL.Query().Get("authRequestID")
}

// finishLogin logs in at the provider and follows the redirects back.
func finishLogin(t *testing.T, c *http.Client, f *ssoFixture, id, user, password string) *http.Response {
	t.Helper()
	resp, err := f.idp.Login(c, id, user, password)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.ReadAll(resp.Body)
	return resp
}

// loginBody logs in at the provider as the test user and answers where the
// redirects ended and its body.
func loginBody(t *testing.T, c *http.Client, f *ssoFixture, id string) (*http.Response, string) {
	t.Helper()
	resp, err := f.idp.Login(c, id, oidctest.User, oidctest.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// TestSSOBrowserLogin logs in through the provider: the groups claim
// reaches the session and maps to a Project role, and nothing else does.
func TestSSOBrowserLogin(t *testing.T) {
	f := newSSOFixture(t, canarySecret, nil)
	c, rec := f.browser(t)
	resp, body := f.do(t, "GET", "/api/v1/settings", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"sso":{"enabled":true,"name":"Test IdP"}`) {
		t.Errorf("settings: %s", body)
	}
	id := startLogin(t, c, f, "return=/applications/x")
	resp = finishLogin(t, c, f, id, oidctest.User, oidctest.Password)
	if resp.Request.URL.Path != "/applications/x" || resp.Request.URL.Host != strings.TrimPrefix(f.srv.URL, "https://") {
		t.Fatalf("after the login the browser is at %s, want /applications/x on Flotilla", resp.Request.URL)
	}
	sessResp, err := c.Get(f.srv.URL + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	var sess wire.Session
	err = json.NewDecoder(sessResp.Body).Decode(&sess)
	_ = sessResp.Body.Close()
	if err != nil || sess.Username != oidctest.Email || sess.Issuer != f.idp.Issuer || strings.Join(sess.Groups, ",") != "team-a,everyone" {
		t.Fatalf("session = %+v (%v), want %s of %s in team-a and everyone", sess, err, oidctest.Email, f.idp.Issuer)
	}
	// The groups claim maps to the Project role of team-a, and to nothing
	// in team-b's Project.
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/session", nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	p, err := f.svc.Authenticate(req)
	if err != nil {
		t.Fatal(err)
	}
	roles := func(name, group string) *project.Policy {
		pol, err := project.Compile(&flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: flotillav1.ProjectSpec{
			Roles: []flotillav1.ProjectRole{{Name: "dev", Groups: []string{group}, Policies: []string{"applications:sync"}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return pol
	}
	if !roles("team-a", "team-a").Allows(p.Username, p.Groups, "applications:sync") {
		t.Error("the team-a role does not grant its verb to the SSO user")
	}
	if roles("team-b", "team-b").Allows(p.Username, p.Groups, "applications:sync") {
		t.Error("the team-b role grants its verb to a user outside team-b")
	}
	mustNotContain(t, "the responses", rec.String(), canarySecret)
	mustNotContain(t, "the logs", f.logs.String(), canarySecret)
}

// TestSSOCLILogin logs in for the CLI: the code goes to the loopback URL
// only, and trades for a token once.
func TestSSOCLILogin(t *testing.T) {
	f := newSSOFixture(t, canarySecret, nil)
	c, rec := f.browser(t)
	codes := make(chan string, 1)
	cli := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("state") == "cli-state" {
			codes <- r.URL.Query().Get("code")
		}
		_, _ = w.Write([]byte("logged in"))
	}))
	defer cli.Close()
	for _, bad := range []string{"http://example.com:8080/cb", "https://127.0.0.1:8080/cb", "http://127.0.0.1/cb", "http://user@127.0.0.1:1/cb", "http://localhost.example.com:1/"} {
		if resp, _ := f.do(t, "GET", "/auth/login?cli="+url.QueryEscape(bad), nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("cli=%s: %d, want 400", bad, resp.StatusCode)
		}
	}
	id := startLogin(t, c, f, "cli="+url.QueryEscape(cli.URL+"/callback?state=cli-state"))
	finishLogin(t, c, f, id, oidctest.User, oidctest.Password)
	var code string
	select {
	case code = <-codes:
	case <-time.After(10 * time.Second):
		t.Fatal("the loopback URL got no code")
	}
	resp, body := f.do(t, "POST", "/api/v1/session/exchange", wire.ExchangeRequest{Code: code}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %s", resp.StatusCode, body)
	}
	if status := f.whoami(t, tokenOf(t, body)); status != http.StatusOK {
		t.Errorf("the exchanged token: %d, want 200", status)
	}
	if resp, _ := f.do(t, "POST", "/api/v1/session/exchange", wire.ExchangeRequest{Code: code}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a second exchange of the code: %d, want 401", resp.StatusCode)
	}
	if status := f.whoami(t, code); status != http.StatusUnauthorized {
		t.Errorf("the code used as a token: %d, want 401", status)
	}
	mustNotContain(t, "the responses", rec.String(), canarySecret)
	mustNotContain(t, "the logs", f.logs.String(), canarySecret)
}

// TestSSORefusals checks what must fail closed: a provider whose
// certificate is not trusted, a provider naming another issuer, an expired
// ID token, a wrong state, a wrong nonce, a wrong client secret; and that
// the secret shows nowhere.
func TestSSORefusals(t *testing.T) {
	t.Run("untrusted certificate", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, func(o *OIDCConfig, _ *oidctest.Provider) { o.RootCAs = x509.NewCertPool() })
		resp, body := f.do(t, "GET", "/auth/login", nil, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Errorf("login with an untrusted provider: %d %s, want 503 and no redirect", resp.StatusCode, body)
		}
	})
	t.Run("foreign issuer", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, func(o *OIDCConfig, idp *oidctest.Provider) {
			other := oidctest.Start(t, canarySecret, "https://unused.example/cb", "https://issuer.example.com")
			o.Issuer, o.RootCAs = other.Issuer, other.Roots()
		})
		if resp, body := f.do(t, "GET", "/auth/login", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("login with a provider naming another issuer: %d %s, want 503", resp.StatusCode, body)
		}
	})
	t.Run("expired ID token", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, func(_ *OIDCConfig, idp *oidctest.Provider) { idp.SetIDTokenTTL(-time.Hour) })
		c, _ := f.browser(t)
		resp, body := loginBody(t, c, f, startLogin(t, c, f, ""))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "token is expired") {
			t.Errorf("callback with an expired ID token: %d %s, want 401 naming the expiry", resp.StatusCode, body)
		}
	})
	t.Run("refused CLI login goes back to the CLI", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, func(_ *OIDCConfig, idp *oidctest.Provider) { idp.SetIDTokenTTL(-time.Hour) })
		c, _ := f.browser(t)
		got := make(chan url.Values, 1)
		cli := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.URL.Query() }))
		defer cli.Close()
		finishLogin(t, c, f, startLogin(t, c, f, "cli="+url.QueryEscape(cli.URL+"/callback")), oidctest.User, oidctest.Password)
		select {
		case q := <-got:
			if q.Get("code") != "" || q.Get("error") != string(wire.CodeUnauthenticated) || !strings.Contains(q.Get("error_description"), "token is expired") {
				t.Errorf("the CLI got %v, want error Unauthenticated naming the expiry and no code", q)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a refused login did not go back to the CLI")
		}
	})
	t.Run("wrong state", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, nil)
		c, _ := f.browser(t)
		first := startLogin(t, c, f, "")
		startLogin(t, c, f, "") // a second login replaces the first's state cookie
		if resp := finishLogin(t, c, f, first, oidctest.User, oidctest.Password); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback with another login's state: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("wrong nonce", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, nil)
		c, _ := f.browser(t)
		id := startLogin(t, c, f, "")
		u, _ := url.Parse(f.srv.URL + "/auth/callback")
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name != stateCookie {
				continue
			}
			var st claims
			if err := f.svc.parse(context.Background(), ck.Value, audState, &st); err != nil {
				t.Fatal(err)
			}
			st.Nonce = "another-nonce"
			forged, err := f.svc.sign(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			c.Jar.SetCookies(u, []*http.Cookie{{Name: stateCookie, Value: forged, Path: "/auth/callback", Secure: true}})
		}
		if resp := finishLogin(t, c, f, id, oidctest.User, oidctest.Password); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("callback with another nonce: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		const wrong = "canary-wrong-client-secret-93ab"
		f := newSSOFixture(t, wrong, nil)
		c, rec := f.browser(t)
		if resp, body := loginBody(t, c, f, startLogin(t, c, f, "")); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "the provider refused the code") {
			t.Errorf("callback with a wrong client secret: %d %s, want 401 naming the provider's refusal", resp.StatusCode, body)
		}
		mustNotContain(t, "the responses", rec.String(), wrong, canarySecret)
		mustNotContain(t, "the logs", f.logs.String(), wrong, canarySecret)
	})
	t.Run("session of a provider no longer configured", func(t *testing.T) {
		f := newSSOFixture(t, canarySecret, nil)
		c, _ := f.browser(t)
		finishLogin(t, c, f, startLogin(t, c, f, ""), oidctest.User, oidctest.Password)
		u, _ := url.Parse(f.srv.URL)
		var token string
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == SessionCookie {
				token = ck.Value
			}
		}
		if status := f.whoami(t, token); status != http.StatusOK {
			t.Fatalf("the SSO session: %d", status)
		}
		local := newFixture(t, f.ns, nil) // the same hub and keys, SSO off
		if status := local.whoami(t, token); status != http.StatusUnauthorized {
			t.Errorf("an SSO session once SSO is off: %d, want 401", status)
		}
	})
}
