package auth

import (
	"crypto/x509"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// The names of the objects auth keeps in the server's namespace of the hub.
const (
	// InitialAdminSecret shows the admin's random initial password once,
	// under the key "password". Delete it after the first login.
	InitialAdminSecret = "flotilla-initial-admin"
	// AccountsName names the ConfigMap that lists local accounts and
	// their groups and the Secret that holds their bcrypt password hashes.
	AccountsName = "flotilla-accounts"
	// KeysSecret holds the session signing keys, "current" and
	// "previous".
	KeysSecret = "flotilla-session-keys"
	// SessionsConfigMap lists the revoked sessions until they expire.
	SessionsConfigMap = "flotilla-sessions"
	// LoginFailuresConfigMap counts the failed logins of the current
	// window per user and per client address.
	LoginFailuresConfigMap = "flotilla-login-failures"
	// AdminAccount is the built-in local account.
	AdminAccount = "admin"
)

// The cookies of a browser session.
const (
	SessionCookie = "flotilla_session"
	CSRFCookie    = "flotilla_csrf"
	CSRFHeader    = "X-CSRF-Token"
	stateCookie   = "flotilla_oidc"
)

// Options configures New. Start from DefaultOptions; a zero field takes its
// default.
type Options struct {
	// Hub is a client of the hub (not a cache: auth reads its state
	// fresh when it must).
	Hub client.Client
	// Namespace is the controller's namespace, where auth keeps its
	// Secrets and ConfigMaps. Default "flotilla-system".
	Namespace string
	// Issuer is the "iss" of the sessions Flotilla signs. Default
	// ServerURL, or "flotilla" without one.
	Issuer string
	// ServerURL is the URL users reach the server at, such as
	// "https://flotilla.example.com"; the OIDC redirect URL defaults to
	// ServerURL + "/auth/callback".
	ServerURL string
	// OIDC configures single sign-on; nil turns it off.
	OIDC *OIDCConfig
	// Version is shown by /api/v1/settings.
	Version string
	// SessionTTL is how long a session lasts. Default 24h.
	SessionTTL time.Duration
	// CacheTTL is how long the accounts, keys and revocations read from
	// the hub are trusted before they are read again (a change made by
	// this server is seen at once). Default 5s.
	CacheTTL time.Duration
	// Limits bounds failed logins.
	Limits LoginLimits
	// DisablePasswordLogin refuses local logins (SSO only).
	DisablePasswordLogin bool
	// BcryptCost is the cost of the password hashes this server writes.
	// Default bcrypt.DefaultCost (10); lower it only in tests.
	BcryptCost int
	// Verbs, when set, answers what a caller may do, by Project name with
	// "*" for every Project; GET /api/v1/session returns it so that the
	// web UI shows only the buttons the caller may use.
	Verbs func(p *Principal) map[string][]string
	// Logger logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now. For tests.
	Now func() time.Time
}

// LoginLimits bounds failed logins. A user or a client address that failed
// Max times within Window is refused (429) until the window ends; a
// successful login clears the user's count, never the address's.
type LoginLimits struct {
	// PerUser is the failures allowed per user name. Default 5.
	PerUser int
	// PerAddress is the failures allowed per client address. Default 20.
	PerAddress int
	// Window is how long failures are remembered. Default 5m.
	Window time.Duration
	// MaxEntries bounds the users and addresses remembered; the oldest
	// are forgotten first. Default 10000.
	MaxEntries int
}

// OIDCConfig configures single sign-on through an OpenID provider.
type OIDCConfig struct {
	// Name is shown on the login page, such as "Dex" or "Okta".
	Name string
	// Issuer is the provider's issuer URL (https).
	Issuer string
	// ClientID is Flotilla's client at the provider; it is also the
	// audience the ID token must carry.
	ClientID string
	// ClientSecretName names the Secret in Namespace holding the client
	// secret under the key ClientSecretKey (default "clientSecret").
	// Empty for a public client.
	ClientSecretName string
	ClientSecretKey  string
	// Scopes requested besides "openid". Default profile, email, groups.
	Scopes []string
	// GroupsClaim names the ID token claim listing the user's groups.
	// Default "groups".
	GroupsClaim string
	// UsernameClaim names the claim used as the user name. Default
	// "email", falling back to "sub" when the token has no such claim.
	UsernameClaim string
	// RedirectURL is the callback registered at the provider. Default
	// Options.ServerURL + "/auth/callback".
	RedirectURL string
	// RootCAs verifies the provider's TLS certificate; nil uses the
	// system's roots. A certificate that does not verify fails closed.
	RootCAs *x509.CertPool
}

// DefaultOptions returns the defaults: namespace flotilla-system, 24h
// sessions, 5s caches, 5 failed logins per user and 20 per address within
// 5 minutes.
func DefaultOptions() Options {
	return Options{
		Namespace:  flotillav1.DefaultNamespace,
		SessionTTL: 24 * time.Hour,
		CacheTTL:   5 * time.Second,
		Limits:     LoginLimits{PerUser: 5, PerAddress: 20, Window: 5 * time.Minute, MaxEntries: 10000},
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Namespace == "" {
		o.Namespace = d.Namespace
	}
	if o.Issuer == "" {
		o.Issuer = o.ServerURL
	}
	if o.Issuer == "" {
		o.Issuer = "flotilla"
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = d.SessionTTL
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = d.CacheTTL
	}
	o.Limits = o.Limits.withDefaults(d.Limits)
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (l LoginLimits) withDefaults(d LoginLimits) LoginLimits {
	if l.PerUser <= 0 {
		l.PerUser = d.PerUser
	}
	if l.PerAddress <= 0 {
		l.PerAddress = d.PerAddress
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}
