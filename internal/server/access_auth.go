package server

import (
	"net/http"

	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/internal/server/rbac"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// authAccess is Access through the auth and rbac packages.
type authAccess struct {
	svc   *auth.Service
	authz *rbac.Authorizer
}

// NewAccess authenticates through svc and authorizes through authz.
func NewAccess(svc *auth.Service, authz *rbac.Authorizer) Access {
	return &authAccess{svc: svc, authz: authz}
}

func (a *authAccess) Register(mux *http.ServeMux) { a.svc.Register(mux) }

// Authenticate finds the caller and checks the CSRF token of a write that
// a browser's cookie authenticated.
func (a *authAccess) Authenticate(r *http.Request) (Caller, error) {
	p, err := a.svc.Authenticate(r)
	if err != nil {
		return nil, authError(err, wire.CodeUnauthenticated, "authentication required: log in, or send a valid bearer token")
	}
	if err := a.svc.CheckCSRF(r, p); err != nil {
		return nil, authError(err, wire.CodeForbidden, "the X-CSRF-Token header is missing or wrong")
	}
	return principal{p: p, authz: a.authz}, nil
}

// authError gives an error of auth its code; its cause is logged at most,
// never sent.
func authError(err error, fallback wire.Code, message string) error {
	code, ok := auth.ErrorCode(err)
	if !ok {
		code = fallback
	}
	switch code {
	case wire.CodeUnavailable:
		message = "authentication is unavailable"
	case wire.CodeTooManyRequests:
		message = "too many requests"
	}
	return &apiError{Code: code, Message: message, Err: err}
}

// principal is a Caller authenticated by auth.
type principal struct {
	p     *auth.Principal
	authz *rbac.Authorizer
}

func (c principal) Name() string { return c.p.Username }

func (c principal) Can(verb, namespace, project string) bool {
	return c.authz.Can(c.p, verb, namespace, project)
}
