package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// errSSO is single sign-on that cannot proceed: not configured, or the
// provider unreachable or not trusted.
var errSSO = errors.New("single sign-on is unavailable")

// errSSOFailed is a login through the provider that failed.
var errSSOFailed = errors.New("single sign-on failed")

// Bounds of what an SSO login accepts.
const (
	stateTTL       = 10 * time.Minute
	exchangeTTL    = 60 * time.Second
	maxGroups      = 256
	maxGroupBytes  = 256
	maxReturnBytes = 2048
	ssoTimeout     = 30 * time.Second
)

// sso logs users in through an OpenID provider. The provider is
// discovered at the first login, not at start, so that the server starts
// while the provider is down; a failed discovery is tried again at the
// next login.
type sso struct {
	name      string
	cfg       OIDCConfig
	hub       client.Client
	namespace string
	http      *http.Client

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newSSO(opts Options) (*sso, error) {
	cfg := *opts.OIDC
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("oidc: the issuer must be an https URL")
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("oidc: no client id")
	}
	if cfg.RedirectURL == "" && opts.ServerURL != "" {
		cfg.RedirectURL = strings.TrimSuffix(opts.ServerURL, "/") + "/auth/callback"
	}
	if cfg.RedirectURL == "" {
		return nil, fmt.Errorf("oidc: no redirect URL and no server URL")
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "email"
	}
	if cfg.ClientSecretName != "" && cfg.ClientSecretKey == "" {
		cfg.ClientSecretKey = "clientSecret"
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email", "groups"}
	}
	name := cfg.Name
	if name == "" {
		name = "SSO"
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	return &sso{
		name: name, cfg: cfg, hub: opts.Hub, namespace: opts.Namespace,
		http: &http.Client{Transport: transport, Timeout: ssoTimeout},
	}, nil
}

// setup discovers the provider and reads the client secret, once.
func (o *sso) setup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, o.http), o.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: discover the provider %s: %w", errSSO, o.cfg.Issuer, err)
	}
	secret, err := o.clientSecret(ctx)
	if err != nil {
		return nil, nil, err
	}
	o.oauth = &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}
	o.verifier = provider.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	return o.oauth, o.verifier, nil
}

func (o *sso) clientSecret(ctx context.Context) (string, error) {
	if o.cfg.ClientSecretName == "" {
		return "", nil
	}
	data, err := readSecret(ctx, o.hub, o.namespace, o.cfg.ClientSecretName)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errSSO, err)
	}
	secret := strings.TrimSpace(string(data[o.cfg.ClientSecretKey]))
	if secret == "" {
		return "", fmt.Errorf("%w: the Secret %s/%s has no key %q", errSSO, o.namespace, o.cfg.ClientSecretName, o.cfg.ClientSecretKey)
	}
	return secret, nil
}

// identity is who the provider says the user is.
type identity struct {
	username string
	groups   []string
}

// finish trades the code for tokens (with the PKCE verifier) and checks
// the ID token: signature, issuer, audience, expiry and nonce.
func (o *sso) finish(ctx context.Context, code, verifier, nonce string) (identity, error) {
	oauth, idv, err := o.setup(ctx)
	if err != nil {
		return identity{}, err
	}
	ctx = oidc.ClientContext(ctx, o.http)
	tok, err := oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		// The provider's own words, never the body it answered.
		why := "an answer without an error code"
		if re.Response != nil {
			why = re.Response.Status
		}
		if re.ErrorCode != "" {
			why = strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)
		}
		return identity{}, fmt.Errorf("%w: the provider refused the code: %s", errSSOFailed, printable(why, 200))
	}
	if err != nil {
		return identity{}, fmt.Errorf("%w: exchange the code: %w", errSSOFailed, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, fmt.Errorf("%w: the provider sent no ID token", errSSOFailed)
	}
	idt, err := idv.Verify(ctx, raw)
	if err != nil {
		return identity{}, fmt.Errorf("%w: %w", errSSOFailed, err)
	}
	if nonce == "" || idt.Nonce != nonce {
		return identity{}, fmt.Errorf("%w: the ID token's nonce does not match", errSSOFailed)
	}
	return o.identity(idt)
}

func (o *sso) identity(idt *oidc.IDToken) (identity, error) {
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return identity{}, fmt.Errorf("%w: read the ID token's claims: %w", errSSOFailed, err)
	}
	id := identity{username: idt.Subject}
	if v, ok := all[o.cfg.UsernameClaim].(string); ok && v != "" {
		id.username = v
	}
	if id.username == "" || len(id.username) > maxUsernameBytes {
		return identity{}, fmt.Errorf("%w: the ID token names no usable user", errSSOFailed)
	}
	var groups []any
	switch g := all[o.cfg.GroupsClaim].(type) {
	case []any:
		groups = g
	case string:
		groups = []any{g}
	}
	if len(groups) > maxGroups {
		return identity{}, fmt.Errorf("%w: the ID token lists more than %d groups", errSSOFailed, maxGroups)
	}
	for _, g := range groups {
		if s, ok := g.(string); ok && s != "" && len(s) <= maxGroupBytes && !slices.Contains(id.groups, s) {
			id.groups = append(id.groups, s)
		}
	}
	return id, nil
}

// localReturn is where a browser goes after logging in: a path of this
// server, never another site ("//host", "/\host" and absolute URLs are
// refused for "/").
func localReturn(s string) string {
	if s == "" || len(s) > maxReturnBytes || !strings.HasPrefix(s, "/") ||
		strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return s
}

// loopbackURL checks the CLI's callback URL: http on a loopback address
// with a port, so that the one-time code goes nowhere but the user's own
// machine.
func loopbackURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || len(s) > maxReturnBytes {
		return nil, fmt.Errorf("%w: the cli URL does not parse", errBadRequest)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "http" || u.Port() == "" || u.User != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: the cli URL must be http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH", errBadRequest)
	}
	return u, nil
}
