package auth

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// handleSSOLogin sends the browser to the provider with a fresh state,
// nonce and PKCE challenge, all from crypto/rand, remembered in a signed
// cookie until the callback.
func (s *Service) handleSSOLogin(w http.ResponseWriter, r *http.Request) {
	if s.sso == nil {
		s.writeError(w, r, fmt.Errorf("%w: not configured", errSSO))
		return
	}
	q := r.URL.Query()
	c, err := s.newClaims("sso", audState, stateTTL)
	if err == nil && q.Get("cli") != "" {
		var u fmt.Stringer
		u, err = loopbackURL(q.Get("cli"))
		if err == nil {
			c.CLI = u.String()
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var oauth *oauth2.Config
	if err == nil {
		oauth, _, err = s.sso.setup(r.Context())
	}
	if err == nil {
		c.State, err = randomString(32)
	}
	if err == nil {
		c.Nonce, err = randomString(32)
	}
	var state string
	if err == nil {
		c.Verifier, c.Return = oauth2.GenerateVerifier(), localReturn(q.Get("return"))
		state, err = s.sign(r.Context(), c)
	}
	if err != nil {
		s.ssoError(w, r, c.CLI, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/auth/callback",
		MaxAge: int(stateTTL.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, oauth.AuthCodeURL(c.State, oidc.Nonce(c.Nonce), oauth2.S256ChallengeOption(c.Verifier)), http.StatusFound)
}

// handleSSOCallback checks the state, trades the code, checks the ID
// token and starts a session: cookies and a redirect for a browser, a
// one-time code sent to the loopback URL for the CLI.
func (s *Service) handleSSOCallback(w http.ResponseWriter, r *http.Request) {
	if s.sso == nil {
		s.writeError(w, r, fmt.Errorf("%w: not configured", errSSO))
		return
	}
	var st claims
	cookie, err := r.Cookie(stateCookie)
	if err == nil {
		err = s.parse(r.Context(), cookie.Value, audState, &st)
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%w: no login in progress in this browser, or it expired", errBadRequest))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/auth/callback", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		s.writeError(w, r, fmt.Errorf("%w: the state does not match", errBadRequest))
		return
	}
	if e := q.Get("error"); e != "" {
		s.opts.Logger.Info("sso login refused by the provider", "error", truncate(e, 64))
		s.ssoError(w, r, st.CLI, fmt.Errorf("%w: %w: the provider refused the login (%s)", ErrUnauthenticated, errSSOFailed, printable(e, 64)))
		return
	}
	id, err := s.sso.finish(r.Context(), q.Get("code"), st.Verifier, st.Nonce)
	if err != nil {
		s.opts.Logger.Info("sso login failed", "error", err)
		s.ssoError(w, r, st.CLI, fmt.Errorf("%w: %w", ErrUnauthenticated, err))
		return
	}
	s.opts.Logger.Info("login", "user", id.username, "issuer", s.sso.cfg.Issuer)
	if st.CLI != "" {
		s.sendCode(w, r, id, st.CLI)
		return
	}
	sess, err := s.issue(r.Context(), id.username, id.groups, s.sso.cfg.Issuer, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookies(w, sess)
	http.Redirect(w, r, localReturn(st.Return), http.StatusFound)
}

// sendCode redirects to the CLI's loopback URL with a one-time code, good
// for 60 seconds, that POST /api/v1/session/exchange trades for a token.
func (s *Service) sendCode(w http.ResponseWriter, r *http.Request, id identity, cli string) {
	c, err := s.newClaims(id.username, audExchange, exchangeTTL)
	var code string
	if err == nil {
		c.Groups, c.IDP = id.groups, s.sso.cfg.Issuer
		code, err = s.sign(r.Context(), c)
	}
	u, uerr := loopbackURL(cli)
	if err == nil {
		err = uerr
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := u.Query()
	q.Set("code", code)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Service) handleExchange(w http.ResponseWriter, r *http.Request) {
	var req wire.ExchangeRequest
	err := decode(w, r, &req)
	var c claims
	if err == nil {
		err = s.parse(r.Context(), req.Code, audExchange, &c)
	}
	if err == nil && (s.sso == nil || c.IDP != s.sso.cfg.Issuer) {
		err = fmt.Errorf("%w: the code is from another provider", ErrUnauthenticated)
	}
	if err == nil {
		var used bool
		used, err = s.revoked.revoke(r.Context(), c.ID, c.ExpiresAt.Time)
		if err == nil && used {
			err = fmt.Errorf("%w: the code was used already", ErrUnauthenticated)
		}
	}
	var sess session
	if err == nil {
		sess, err = s.issue(r.Context(), c.Subject, c.Groups, c.IDP, "")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Token{Token: sess.token, ExpiresAt: sess.c.ExpiresAt.Time})
}

// ssoError answers a failed SSO login: the error itself to a browser, or,
// for the CLI's login, a redirect to its loopback URL with the error's
// code and message, so that the terminal tells the user why rather than
// waiting for a code that never comes.
func (s *Service) ssoError(w http.ResponseWriter, r *http.Request, cli string, err error) {
	u, uerr := loopbackURL(cli)
	if cli == "" || uerr != nil {
		s.writeError(w, r, err)
		return
	}
	code, msg := s.errorBody(r, err)
	q := u.Query()
	q.Set("error", string(code))
	q.Set("error_description", printable(msg, 512))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// printable keeps text from elsewhere (a provider's error, a library's
// message) to n bytes of printable characters.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(s, n)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
