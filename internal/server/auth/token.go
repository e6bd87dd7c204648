package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The audiences of the tokens Flotilla signs: each kind is refused where
// another is expected.
const (
	audSession  = "flotilla-session"
	audExchange = "flotilla-exchange"
	audState    = "flotilla-oidc-state"
)

// maxTokenBytes bounds a token before it is parsed.
const maxTokenBytes = 8 << 10

// claims are the claims of a session (and of an exchange code, which
// carries the session it will become).
type claims struct {
	jwt.RegisteredClaims
	Groups []string `json:"groups,omitempty"`
	// IDP is the OpenID provider's issuer; empty for a local account.
	IDP string `json:"idp,omitempty"`
	// Local marks a local account; PW is a fingerprint of its password
	// hash when the session began, so a password change ends it.
	Local bool   `json:"local,omitempty"`
	PW    string `json:"pw,omitempty"`
	// CSRF is the CSRF token of a browser session.
	CSRF string `json:"csrf,omitempty"`

	// The SSO login in progress (audience audState): the state, nonce and
	// PKCE verifier it sent the provider, where to go back to, and the
	// CLI's loopback URL.
	State    string `json:"state,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	Verifier string `json:"verifier,omitempty"`
	Return   string `json:"return,omitempty"`
	CLI      string `json:"cli,omitempty"`
}

// randomString returns n random bytes from crypto/rand, base64url.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sign signs c with the current key.
func (s *Service) sign(ctx context.Context, c jwt.Claims) (string, error) {
	ring, err := s.keys.get(ctx, false)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = ring.currentID
	out, err := t.SignedString(ring.keys[ring.currentID])
	if err != nil {
		return "", fmt.Errorf("sign a token: %w", err)
	}
	return out, nil
}

// newClaims returns claims for sub, for audience aud, lasting ttl, with a
// fresh id.
func (s *Service) newClaims(sub, aud string, ttl time.Duration) (claims, error) {
	id, err := randomString(16)
	if err != nil {
		return claims{}, err
	}
	now := s.opts.Now()
	return claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    s.opts.Issuer,
		Subject:   sub,
		Audience:  jwt.ClaimStrings{aud},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID:        id,
	}}, nil
}

// parse verifies raw as a token of audience aud into c: HS256 only (so
// `alg: none` and any other algorithm are refused), signed by a known key,
// issued by this server, not expired, with an id.
func (s *Service) parse(ctx context.Context, raw, aud string, c *claims) error {
	if raw == "" {
		return fmt.Errorf("%w: no token", ErrUnauthenticated)
	}
	if len(raw) > maxTokenBytes {
		return fmt.Errorf("%w: token too long", ErrUnauthenticated)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(aud),
		jwt.WithIssuer(s.opts.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.opts.Now),
	)
	_, err := p.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) { return s.key(ctx, t) })
	if err != nil {
		return fmt.Errorf("%w: %s", ErrUnauthenticated, describe(err))
	}
	if c.ID == "" || c.Subject == "" {
		return fmt.Errorf("%w: token without id or subject", ErrUnauthenticated)
	}
	return nil
}

var errUnknownKey = errors.New("signed by an unknown key")

// key finds the key a token names, reading the keys again when it is
// unknown and well formed (they may have been rotated by another server);
// keyStore.get bounds how often that reads the hub.
func (s *Service) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	ring, err := s.keys.get(ctx, false)
	if err != nil {
		return nil, err
	}
	if k, ok := ring.keys[kid]; ok {
		return k, nil
	}
	if !wellFormedKeyID(kid) {
		return nil, errUnknownKey
	}
	if ring, err = s.keys.get(ctx, true); err != nil {
		return nil, err
	}
	if k, ok := ring.keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKey
}

// describe names why a token was refused without echoing any of it.
func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token for another audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token from another issuer"
	case errors.Is(err, errUnknownKey):
		return "token signed by an unknown key"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad token signature"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token not valid yet"
	default:
		return "malformed token"
	}
}

// newUnverifiedParser reads a token's header without verifying it; for
// tests and diagnostics only, never for a decision.
func newUnverifiedParser() *jwt.Parser { return jwt.NewParser() }
