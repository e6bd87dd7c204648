package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/server/auth"
)

// authFlags are the flags of `flotilla server` for logging in: sessions,
// local accounts and single sign-on (docs/auth.md).
type authFlags struct {
	sessionTTL    time.Duration
	passwordLogin bool
	oidc          auth.OIDCConfig
	oidcCAFile    string
}

func (a *authFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&a.sessionTTL, "session-ttl", auth.DefaultOptions().SessionTTL, "how long a session (the CLI's token, the browser's cookie) lasts")
	f.BoolVar(&a.passwordLogin, "password-login", true, "let local accounts log in with a password (false: single sign-on only)")
	f.StringVar(&a.oidc.Issuer, "oidc-issuer", "", "the OpenID provider's issuer URL (https); turns single sign-on on")
	f.StringVar(&a.oidc.ClientID, "oidc-client-id", "", "Flotilla's client id at the provider (the ID token's audience)")
	f.StringVar(&a.oidc.ClientSecretName, "oidc-client-secret", "", "the Secret in --namespace holding the client secret (none for a public client)")
	f.StringVar(&a.oidc.ClientSecretKey, "oidc-client-secret-key", "clientSecret", "the key of the client secret in that Secret")
	f.StringSliceVar(&a.oidc.Scopes, "oidc-scopes", []string{"profile", "email", "groups"}, "scopes asked for besides openid")
	f.StringVar(&a.oidc.GroupsClaim, "oidc-groups-claim", "groups", "the ID token's claim listing the user's groups")
	f.StringVar(&a.oidc.UsernameClaim, "oidc-username-claim", "email", "the ID token's claim used as the user name (sub when absent)")
	f.StringVar(&a.oidc.Name, "oidc-name", "", `the provider's name on the login page, such as "Okta" (default "SSO")`)
	f.StringVar(&a.oidc.RedirectURL, "oidc-redirect-url", "", "the redirect URL registered at the provider (default: --url followed by /auth/callback)")
	f.StringVar(&a.oidcCAFile, "oidc-ca-file", "", "a PEM file of authorities trusted for the provider's certificate, besides the system's")
}

// apply sets the authentication options from the flags.
func (a *authFlags) apply(o *auth.Options) error {
	if a.sessionTTL <= 0 {
		return errors.New("--session-ttl must be positive")
	}
	o.SessionTTL = a.sessionTTL
	o.DisablePasswordLogin = !a.passwordLogin
	if a.oidc.Issuer == "" {
		if a.oidc.ClientID != "" || a.oidc.ClientSecretName != "" || a.oidcCAFile != "" {
			return errors.New("--oidc-client-id, --oidc-client-secret and --oidc-ca-file need --oidc-issuer")
		}
		if !a.passwordLogin {
			return errors.New("--password-login=false needs single sign-on (--oidc-issuer): nobody could log in")
		}
		return nil
	}
	cfg := a.oidc
	if a.oidcCAFile != "" {
		data, err := readBounded(a.oidcCAFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--oidc-ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(data) {
			return fmt.Errorf("--oidc-ca-file %s: no PEM certificate", a.oidcCAFile)
		}
		cfg.RootCAs = pool
	}
	o.OIDC = &cfg
	return nil
}
