package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// maxBodyBytes bounds the body of every auth request before it is read.
const maxBodyBytes = 64 << 10

// Register serves the authentication routes of docs/api.md on mux:
// settings, session (log in, who am I, log out), the CLI's code exchange,
// the password change, and the SSO login and callback. Each route
// authenticates for itself where it must; the server need not wrap them.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/settings", s.handleSettings)
	mux.HandleFunc("POST /api/v1/session", s.handleLogin)
	mux.HandleFunc("GET /api/v1/session", s.handleSession)
	mux.HandleFunc("DELETE /api/v1/session", s.handleLogout)
	mux.HandleFunc("POST /api/v1/session/exchange", s.handleExchange)
	mux.HandleFunc("PUT /api/v1/account/password", s.handlePassword)
	mux.HandleFunc("GET /auth/login", s.handleSSOLogin)
	mux.HandleFunc("GET /auth/callback", s.handleSSOCallback)
}

func (s *Service) handleSettings(w http.ResponseWriter, _ *http.Request) {
	out := wire.Settings{Version: s.opts.Version, PasswordLogin: !s.opts.DisablePasswordLogin}
	if s.sso != nil {
		out.SSO = wire.SSOSettings{Enabled: true, Name: s.sso.name}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req wire.LoginRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.login(r.Context(), req.Username, req.Password, clientAddress(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookies(w, sess)
	writeJSON(w, http.StatusOK, wire.Token{Token: sess.token, ExpiresAt: sess.c.ExpiresAt.Time})
}

func (s *Service) handleSession(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	session := wire.Session{
		Username: p.Username, Groups: p.Groups, Issuer: p.Issuer, ExpiresAt: p.ExpiresAt, CSRFToken: p.csrf,
	}
	if s.opts.Verbs != nil {
		session.Verbs = s.opts.Verbs(p)
	}
	writeJSON(w, http.StatusOK, session)
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err == nil {
		err = s.CheckCSRF(r, p)
	}
	if err == nil {
		err = s.logout(r.Context(), p)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.opts.Logger.Info("logout", "user", p.Username)
	clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handlePassword(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err == nil {
		err = s.CheckCSRF(r, p)
	}
	var req wire.PasswordChange
	if err == nil {
		err = decode(w, r, &req)
	}
	var sess session
	if err == nil {
		sess, err = s.changePassword(r.Context(), p, req.CurrentPassword, req.NewPassword, clientAddress(r))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.cookie {
		s.setCookies(w, sess)
	}
	writeJSON(w, http.StatusOK, wire.Token{Token: sess.token, ExpiresAt: sess.c.ExpiresAt.Time})
}

// principal is the caller the server's middleware found, or else the one
// r authenticates as.
func (s *Service) principal(r *http.Request) (*Principal, error) {
	if p, ok := PrincipalFrom(r.Context()); ok {
		return p, nil
	}
	return s.Authenticate(r)
}

// setCookies gives a browser its session: the token in an HttpOnly cookie,
// and the CSRF token in a cookie its scripts can read and echo in the
// X-CSRF-Token header.
func (s *Service) setCookies(w http.ResponseWriter, sess session) {
	exp := sess.c.ExpiresAt.Time
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.token, Path: "/", Expires: exp,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: sess.c.CSRF, Path: "/", Expires: exp,
		Secure: true, SameSite: http.SameSiteLaxMode})
}

func clearCookies(w http.ResponseWriter) {
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: name == SessionCookie, Secure: true, SameSite: http.SameSiteLaxMode})
	}
}

// errBadRequest is a body that is not the JSON expected.
var errBadRequest = errors.New("bad request")

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("%w: the body is larger than %d bytes", errBadRequest, maxBodyBytes)
		}
		return fmt.Errorf("%w: the body is not the JSON expected", errBadRequest)
	}
	return nil
}

// ErrorCode is the API error code of an error of this package, and false
// for any other error.
func ErrorCode(err error) (wire.Code, bool) {
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl):
		return wire.CodeTooManyRequests, true
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrBadCredentials):
		return wire.CodeUnauthenticated, true
	case errors.Is(err, ErrCSRF):
		return wire.CodeForbidden, true
	case errors.Is(err, ErrInvalidPassword), errors.Is(err, ErrInvalidAccount), errors.Is(err, errBadRequest):
		return wire.CodeBadRequest, true
	case errors.Is(err, errSSO):
		return wire.CodeUnavailable, true
	}
	return "", false
}

// writeError answers err as {code, message}. An error that is not this
// package's is logged and answered as Internal, without its text.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := s.errorBody(r, err)
	var rl *RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(rl.RetryAfter, time.Second)/time.Second)))
	}
	writeJSON(w, code.Status(), wire.Error{Code: code, Message: msg})
}

// errorBody is the code and message err is answered with; an error that
// is not this package's is logged and becomes Internal, without its text.
func (s *Service) errorBody(r *http.Request, err error) (wire.Code, string) {
	code, ok := ErrorCode(err)
	if !ok {
		s.opts.Logger.Error("auth request failed", "route", r.Pattern, "error", err)
		return wire.CodeInternal, "internal error"
	}
	return code, err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
