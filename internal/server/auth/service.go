package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Service authenticates API callers and serves the login routes.
type Service struct {
	opts     Options
	keys     *keyStore
	accounts *accountCache
	revoked  *revocations
	limits   *limiter
	sso      *sso
	// dummyHash is compared against when the user is unknown, so that an
	// unknown user takes as long as a wrong password.
	dummyHash []byte
}

// New returns a Service over the hub. It gives the admin account a random
// password when it has none (shown in the Secret flotilla-initial-admin)
// and creates the signing key when there is none.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Hub == nil {
		return nil, errors.New("auth: no hub client")
	}
	opts = opts.withDefaults()
	s := &Service{opts: opts}
	s.keys = &keyStore{hub: opts.Hub, namespace: opts.Namespace, ttl: opts.CacheTTL, now: opts.Now}
	s.accounts = &accountCache{hub: opts.Hub, namespace: opts.Namespace, ttl: opts.CacheTTL, now: opts.Now}
	s.revoked = &revocations{m: hubMap{hub: opts.Hub, namespace: opts.Namespace, name: SessionsConfigMap}, ttl: opts.CacheTTL, now: opts.Now}
	s.limits = &limiter{m: hubMap{hub: opts.Hub, namespace: opts.Namespace, name: LoginFailuresConfigMap}, limits: opts.Limits, now: opts.Now}
	var err error
	if s.dummyHash, err = bcrypt.GenerateFromPassword([]byte("flotilla-no-such-user"), opts.BcryptCost); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if _, err := s.keys.get(ctx, true); err != nil {
		return nil, fmt.Errorf("auth: session keys: %w", err)
	}
	created, err := ensureAdmin(ctx, opts.Hub, opts.Namespace, opts.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: initial admin password: %w", err)
	}
	if created {
		opts.Logger.Info("the admin account has a new random password; read it from the Secret, then delete the Secret",
			"secret", opts.Namespace+"/"+InitialAdminSecret)
	}
	if opts.OIDC != nil {
		if s.sso, err = newSSO(opts); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return s, nil
}

// Authenticate returns the caller of r, from its bearer token or else its
// session cookie. Every failure wraps ErrUnauthenticated.
func (s *Service) Authenticate(r *http.Request) (*Principal, error) {
	raw, cookie := bearer(r), false
	if raw == "" {
		if c, err := r.Cookie(SessionCookie); err == nil {
			raw, cookie = c.Value, true
		}
	}
	p, err := s.verify(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	p.cookie = cookie
	return p, nil
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// verify checks a session token: its signature, claims, revocation and,
// for a local account, that the account and its password are unchanged.
func (s *Service) verify(ctx context.Context, raw string) (*Principal, error) {
	var c claims
	if err := s.parse(ctx, raw, audSession, &c); err != nil {
		return nil, err
	}
	revoked, err := s.revoked.revoked(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if revoked {
		return nil, fmt.Errorf("%w: session revoked", ErrUnauthenticated)
	}
	if c.Local {
		if err := s.checkLocal(ctx, c.Subject, c.PW); err != nil {
			return nil, err
		}
	} else if s.sso == nil || c.IDP != s.sso.cfg.Issuer {
		return nil, fmt.Errorf("%w: the session is from a provider no longer configured", ErrUnauthenticated)
	}
	return &Principal{
		Username: c.Subject, Groups: c.Groups, Issuer: c.IDP, Local: c.Local,
		ExpiresAt: c.ExpiresAt.Time, id: c.ID, csrf: c.CSRF,
	}, nil
}

// checkLocal refuses a local session whose account is gone or whose
// password changed since it began.
func (s *Service) checkLocal(ctx context.Context, user, pw string) error {
	for _, force := range []bool{false, true} {
		accounts, err := s.accounts.get(ctx, force)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnauthenticated, err)
		}
		if a, ok := accounts[user]; ok && len(a.hash) > 0 && a.fingerprint() == pw {
			return nil
		}
	}
	return fmt.Errorf("%w: the account or its password changed", ErrUnauthenticated)
}

// CheckCSRF refuses a write (not GET, HEAD or OPTIONS) authenticated by the
// session cookie unless its X-CSRF-Token header carries the session's CSRF
// token. Bearer tokens need none: a browser never sends them on its own.
func (s *Service) CheckCSRF(r *http.Request, p *Principal) error {
	if p == nil || !p.cookie {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	h := r.Header.Get(CSRFHeader)
	if h == "" || p.csrf == "" || subtle.ConstantTimeCompare([]byte(h), []byte(p.csrf)) != 1 {
		return ErrCSRF
	}
	return nil
}

// session is a new session token and what it says.
type session struct {
	token string
	c     claims
}

// issue signs a session for the user; csrf adds a CSRF token (browser
// sessions).
func (s *Service) issue(ctx context.Context, user string, groups []string, idp, pw string) (session, error) {
	c, err := s.newClaims(user, audSession, s.opts.SessionTTL)
	if err != nil {
		return session{}, err
	}
	c.Groups, c.IDP, c.Local, c.PW = groups, idp, idp == "", pw
	if c.CSRF, err = randomString(24); err != nil {
		return session{}, err
	}
	tok, err := s.sign(ctx, c)
	if err != nil {
		return session{}, err
	}
	return session{token: tok, c: c}, nil
}

// login checks a local account's password and starts a session.
func (s *Service) login(ctx context.Context, user, password, addr string) (session, error) {
	a, err := s.checkPassword(ctx, user, password, addr)
	if err != nil {
		return session{}, err
	}
	s.opts.Logger.Info("login", "user", user, "address", addr)
	return s.issue(ctx, user, a.groups, "", a.fingerprint())
}

// checkPassword checks a local account's password, counting failures
// against the user and the client address addr.
func (s *Service) checkPassword(ctx context.Context, user, password, addr string) (account, error) {
	if s.opts.DisablePasswordLogin || len(user) > maxUsernameBytes || len(password) > maxPasswordBytes {
		return account{}, ErrBadCredentials
	}
	if err := s.limits.reserve(ctx, user, addr); err != nil {
		return account{}, err
	}
	accounts, err := readAccounts(ctx, s.opts.Hub, s.opts.Namespace)
	if err != nil {
		return account{}, err
	}
	a, ok := accounts[user]
	known := ok && len(a.hash) > 0
	hash := a.hash
	if !known {
		hash = s.dummyHash
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !known {
		s.opts.Logger.Info("login failed", "user", user, "address", addr)
		return account{}, ErrBadCredentials
	}
	if err := s.limits.succeeded(ctx, user, addr); err != nil {
		return account{}, err
	}
	return a, nil
}

// logout revokes p's session.
func (s *Service) logout(ctx context.Context, p *Principal) error {
	_, err := s.revoked.revoke(ctx, p.id, p.ExpiresAt)
	return err
}

// changePassword sets p's new password after checking the current one
// (failures count against the login limits), which ends every session of
// the account, and returns a new session.
func (s *Service) changePassword(ctx context.Context, p *Principal, current, next, addr string) (session, error) {
	if !p.Local {
		return session{}, fmt.Errorf("%w: %q is not a local account", ErrInvalidAccount, p.Username)
	}
	if err := CheckPassword(next); err != nil {
		return session{}, err
	}
	if _, err := s.checkPassword(ctx, p.Username, current, addr); err != nil {
		return session{}, err
	}
	if err := setPassword(ctx, s.opts.Hub, s.opts.Namespace, p.Username, next, s.opts.BcryptCost); err != nil {
		return session{}, err
	}
	s.accounts.invalidate()
	if err := s.logout(ctx, p); err != nil {
		return session{}, err
	}
	accounts, err := s.accounts.get(ctx, true)
	if err != nil {
		return session{}, err
	}
	a := accounts[p.Username]
	s.opts.Logger.Info("password changed", "user", p.Username)
	return s.issue(ctx, p.Username, a.groups, "", a.fingerprint())
}
