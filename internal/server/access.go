package server

import (
	"net/http"
)

// Caller is who makes a request, and what they may do.
type Caller interface {
	// Name is the caller's user name, for logs.
	Name() string
	// Can says whether the caller may take verb (such as
	// "applications:sync") on an object of namespace in project; project
	// is empty for objects outside Projects (Clusters).
	Can(verb, namespace, project string) bool
}

// Access authenticates requests. Authenticate answers an error wrapping
// ErrUnauthenticated for a request without valid credentials, and checks
// the CSRF token of a write that a browser cookie authenticates.
type Access interface {
	Authenticate(r *http.Request) (Caller, error)
	// Register mounts the public routes of authentication (login, logout,
	// settings, SSO) on mux.
	Register(mux *http.ServeMux)
}

type callerKey struct{}
