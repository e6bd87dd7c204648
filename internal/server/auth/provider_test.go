package auth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// provider is a real OpenID provider (zitadel's certified op package, with
// its example storage) served over TLS on loopback.
type provider struct {
	srv     *httptest.Server
	issuer  string
	storage *groupStorage
}

// The provider's users, from the example storage, and the groups the tests
// give them.
const (
	providerUser     = "test-user2"
	providerPassword = "verysecure"
	providerEmail    = "test-user2@zitadel.ch"
)

// groupStorage is the example storage plus a groups claim and an ID token
// lifetime of the test's choosing.
type groupStorage struct {
	*storage.Storage
	groups     map[string][]string
	idTokenTTL time.Duration
}

func (s *groupStorage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := s.Storage.SetUserinfoFromScopes(ctx, info, userID, clientID, scopes); err != nil {
		return err
	}
	if u := storage.NewUserStore("https://localhost").GetUserByID(userID); u != nil {
		info.Email = u.Email
	}
	info.AppendClaims("groups", s.groups[userID])
	return nil
}

func (s *groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil || s.idTokenTTL == 0 {
		return c, err
	}
	return lifetimeClient{Client: c, ttl: s.idTokenTTL}, nil
}

type lifetimeClient struct {
	op.Client
	ttl time.Duration
}

func (c lifetimeClient) IDTokenLifetime() time.Duration { return c.ttl }

// startProvider starts a provider whose client "flotilla" has secret and
// redirects to redirect. advertised, when set, is the issuer the provider
// claims in its discovery document instead of its own URL.
func startProvider(t *testing.T, secret, redirect, advertised string) *provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "https://" + ln.Addr().String()
	if advertised == "" {
		advertised = issuer
	}
	clients := map[string]*storage.Client{"flotilla": storage.WebClient("flotilla", secret, redirect)}
	st := &groupStorage{
		Storage: storage.NewStorageWithClients(storage.NewUserStore(issuer), clients),
		groups:  map[string][]string{"id1": {"team-b"}, "id2": {"team-a", "everyone"}},
	}
	cfg := &op.Config{CryptoKey: sha256.Sum256([]byte("provider test key")), CodeMethodS256: true, AuthMethodPost: true}
	p, err := op.NewProvider(cfg, st, op.StaticIssuer(advertised))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(p.IssuerFromRequest)
	mux.Handle("/login/username", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("log in"))
			return
		}
		id := r.FormValue("authRequestID")
		if err := st.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(p)(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", p)
	srv := httptest.NewUnstartedServer(mux)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &provider{srv: srv, issuer: issuer, storage: st}
}

// roots trusts the provider's certificate.
func (p *provider) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.srv.Certificate())
	return pool
}
