// Package oidctest runs a real OpenID provider on loopback for tests:
// zitadel's certified op package with its example users, over TLS, with a
// groups claim. It is imported by tests only.
package oidctest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// loginForm is the provider's login page, for a test that logs in with a
// real browser; a test with an HTTP client posts the form with Login.
var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><title>Test IdP</title></head><body>
<h1>Test IdP</h1>
<form method="post" action="/login/username">
<input type="hidden" name="authRequestID" value="{{.}}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>`))

// The provider's user of the tests, from the example storage, and what its
// ID token says.
const (
	User     = "test-user2"
	Password = "verysecure"
	// Email is the user's "email" claim, Flotilla's default user name.
	Email = "test-user2@zitadel.ch"
	// ClientID is Flotilla's client at the provider.
	ClientID = "flotilla"
)

// Groups is the groups claim of each example user: test-user2 (id2) is in
// team-a and everyone, test-user (id1) in team-b.
var Groups = map[string][]string{"id1": {"team-b"}, "id2": {"team-a", "everyone"}}

// Provider is a running OpenID provider.
type Provider struct {
	// Server serves the provider over TLS on 127.0.0.1.
	Server *httptest.Server
	// Issuer is the provider's own URL, https://127.0.0.1:PORT.
	Issuer  string
	storage *groupStorage
}

// Start starts a provider whose client ClientID has secret and may
// redirect to redirect only. advertised, when set, is the issuer the
// provider claims in its discovery document instead of its own URL. The
// provider stops when the test ends.
func Start(t testing.TB, secret, redirect, advertised string) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "https://" + ln.Addr().String()
	if advertised == "" {
		advertised = issuer
	}
	clients := map[string]*storage.Client{ClientID: storage.WebClient(ClientID, secret, redirect)}
	st := &groupStorage{Storage: storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)}
	cfg := &op.Config{CryptoKey: sha256.Sum256([]byte("provider test key")), CodeMethodS256: true, AuthMethodPost: true}
	p, err := op.NewProvider(cfg, st, op.StaticIssuer(advertised))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(p.IssuerFromRequest)
	// The login page: GET shows it, POST checks the user's password and
	// goes on with the authorization request.
	mux.Handle("/login/username", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = loginForm.Execute(w, r.FormValue("authRequestID"))
			return
		}
		id := r.FormValue("authRequestID")
		if err := st.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(p)(r.Context(), id), http.StatusFound)
	}))
	// A browser on the login page asks for an icon: none, and no error.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", p)
	srv := httptest.NewUnstartedServer(mux)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &Provider{Server: srv, Issuer: issuer, storage: st}
}

// Roots trusts the provider's certificate.
func (p *Provider) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Server.Certificate())
	return pool
}

// CACert is the provider's certificate in PEM.
func (p *Provider) CACert() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Server.Certificate().Raw})
}

// SetIDTokenTTL makes the ID tokens issued from now on last d (negative:
// expired when issued); zero is the client's default.
func (p *Provider) SetIDTokenTTL(d time.Duration) { p.storage.idTokenTTL.Store(int64(d)) }

// LoginPage is where the provider sends a browser to log in.
func (p *Provider) LoginPage() string { return p.Issuer + "/login/username" }

// Login logs user in on the provider's login page for the authorization
// request id (the authRequestID of the page's URL), with client, which
// then follows the redirects back to the relying party.
func (p *Provider) Login(c *http.Client, id, user, password string) (*http.Response, error) {
	return c.PostForm(p.LoginPage(), url.Values{"authRequestID": {id}, "username": {user}, "password": {password}})
}

// groupStorage is the example storage plus a groups claim and an ID token
// lifetime of the test's choosing.
type groupStorage struct {
	*storage.Storage
	idTokenTTL atomic.Int64
}

func (s *groupStorage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := s.Storage.SetUserinfoFromScopes(ctx, info, userID, clientID, scopes); err != nil {
		return err
	}
	if u := storage.NewUserStore("https://localhost").GetUserByID(userID); u != nil {
		info.Email = u.Email
	}
	info.AppendClaims("groups", Groups[userID])
	return nil
}

func (s *groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	ttl := time.Duration(s.idTokenTTL.Load())
	if err != nil || ttl == 0 {
		return c, err
	}
	return lifetimeClient{Client: c, ttl: ttl}, nil
}

type lifetimeClient struct {
	op.Client
	ttl time.Duration
}

func (c lifetimeClient) IDTokenLifetime() time.Duration { return c.ttl }
