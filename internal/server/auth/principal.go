package auth

import (
	"context"
	"time"
)

// Principal is an authenticated caller.
type Principal struct {
	// Username names the caller: a local account, or the user claim of
	// the OpenID provider.
	Username string
	// Groups are the local account's groups or the provider's groups
	// claim.
	Groups []string
	// Issuer is the OpenID provider's issuer URL; empty for a local
	// account.
	Issuer string
	// Local is set for a local account.
	Local bool
	// ExpiresAt is when the session ends.
	ExpiresAt time.Time

	// id is the session's token id (its revocation handle); csrf the CSRF
	// token bound to it; cookie is set when the request carried the
	// session cookie rather than a bearer token.
	id     string
	csrf   string
	cookie bool
}

// CSRFToken is the CSRF token bound to the session.
func (p *Principal) CSRFToken() string { return p.csrf }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal that WithPrincipal put in ctx.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
