package ui

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/internal/server/rbac"
	"github.com/flotilla-dev/flotilla/internal/server/ui"
	"github.com/flotilla-dev/flotilla/test/browser"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// The provider's user (from zitadel's example storage) and what the
// provider says of them.
const (
	ssoUser     = "test-user2"
	ssoUserID   = "id2"
	ssoPassword = "verysecure"
	ssoEmail    = "test-user2@zitadel.ch"
	ssoGroup    = "ui-operators"
	ssoSecret   = "ui-oidc-client-secret"
)

// idpStorage is zitadel's example storage with the user's email and a
// groups claim.
type idpStorage struct{ *storage.Storage }

func (s idpStorage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := s.Storage.SetUserinfoFromScopes(ctx, info, userID, clientID, scopes); err != nil {
		return err
	}
	if userID == ssoUserID {
		info.Email = ssoEmail
		info.AppendClaims("groups", []string{ssoGroup})
	}
	return nil
}

// loginForm is the provider's login page, which a user fills in the
// browser.
var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><title>Test IdP</title></head><body>
<h1>Test IdP</h1>
<form method="post" action="/login/username">
<input type="hidden" name="authRequestID" value="{{.}}">
<label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form></body></html>`))

// startIDP serves a real OpenID provider (zitadel's op package) over TLS on
// loopback, whose client "flotilla" may redirect to redirect. It answers
// the issuer and the pool that trusts the provider's certificate.
func startIDP(t *testing.T, redirect string) (string, *x509.CertPool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "https://" + ln.Addr().String()
	clients := map[string]*storage.Client{"flotilla": storage.WebClient("flotilla", ssoSecret, redirect)}
	st := idpStorage{storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)}
	cfg := &op.Config{CryptoKey: sha256.Sum256([]byte("ui test provider")), CodeMethodS256: true, AuthMethodPost: true}
	p, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/login/username", op.NewIssuerInterceptor(p.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = loginForm.Execute(w, id)
			return
		}
		if err := st.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(p)(r.Context(), id), http.StatusFound)
	}))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", p)
	srv := httptest.NewUnstartedServer(mux)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return issuer, pool
}

// startSSOServer runs the server of `flotilla server` in the test's
// process, with single sign-on through the provider at issuer: the
// command has no flags for it yet. The group ssoGroup is admin.
func (f *fleet) startSSOServer(t *testing.T) string {
	t.Helper()
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	issuer, roots := startIDP(t, base+"/auth/callback")
	ctx, cancel := context.WithCancel(context.Background())
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ui-oidc"}, StringData: map[string]string{"clientSecret": ssoSecret}}
	if err := f.hub.Client.Create(ctx, sec); err != nil {
		t.Fatalf("the client secret: %v", err)
	}

	opts := server.DefaultOptions()
	opts.Config = f.hub.Fleet.Clusters[0].RESTConfig()
	opts.Listen = "127.0.0.1:" + strconv.Itoa(port)
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var srv *server.Server
	authz, err := rbac.New(rbac.Options{
		Admins:   []string{"group:" + ssoGroup},
		Projects: func(namespace, name string) (*flotillav1.Project, bool) { return srv.Project(namespace, name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	aopts := auth.DefaultOptions()
	aopts.Hub, aopts.ServerURL, aopts.Logger = f.hub.Client, base, opts.Logger
	aopts.OIDC = &auth.OIDCConfig{Name: "Test IdP", Issuer: issuer, ClientID: "flotilla", ClientSecretName: sec.Name, RootCAs: roots}
	aopts.Verbs = func(p *auth.Principal) map[string][]string { return authz.Allowed(p, ns, srv.ProjectNames()) }
	svc, err := auth.New(ctx, aopts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Access = server.NewAccess(svc, authz)
	h, err := ui.New(ui.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	opts.Mounts = []func(*http.ServeMux){h.Mount}
	if srv, err = server.New(opts); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = f.hub.Client.Delete(context.Background(), sec)
	})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server with single sign-on is not ready: %v", err)
		}
	}
}

// A deep link while logged out offers "Log in with Test IdP"; the
// provider's own form logs the user in, and the UI opens the deep link
// with the user's name (the email claim) and the admin's buttons, which
// the user's group gives.
func (f *fleet) testSSOLogin(t *testing.T) {
	base := f.startSSOServer(t)
	b := browser.New(t, base)
	b.Go("/applications?q=web-dev")
	b.WaitText("Log in with Test IdP")
	docShot(t, b, "login-sso")
	b.Must("log in with the provider", chromedp.Click(`//a[contains(@class,"sso")]`))
	b.WaitText("Test IdP")
	b.Must("the provider's form",
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), ssoUser),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), ssoPassword),
	)
	b.Shot("idp-form")
	b.Must("sign in", chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.WaitText("web-dev-2")
	if p := b.Path(); p != "/applications?q=web-dev" {
		t.Errorf("after the single sign-on at %s, want the deep link", p)
	}
	if u := browser.Eval[string](b, `document.querySelector('.user span')?.textContent || ''`); u != ssoEmail {
		t.Errorf("the page names the user %q, want %q", u, ssoEmail)
	}
	// The server of this test reads no workload cluster: the list, not an
	// application's page with its tree.
	b.Must("select both", chromedp.Click(chromedp.CSS(`input[aria-label="Select all shown"]`)))
	if !hasButton(b, "Sync selected") {
		t.Errorf("a member of %s (admin) does not see Sync selected", ssoGroup)
	}
	b.Shot("sso-applications")
	noProblems(t, b)
}
