package apiclient

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Error is an error answer of the API: its HTTP status, its code and the
// server's message.
type Error struct {
	Status  int
	Code    wire.Code
	Message string
	// RetryAfter is the Retry-After header of a 429, if any.
	RetryAfter string
}

func (e *Error) Error() string {
	switch e.Code {
	case wire.CodeUnauthenticated:
		return "not logged in, or the session expired: run `flotilla login SERVER` (" + e.Message + ")"
	case wire.CodeForbidden:
		return "permission denied: " + e.Message
	case wire.CodeTooManyRequests:
		if e.RetryAfter != "" {
			return fmt.Sprintf("too many requests, retry after %ss: %s", e.RetryAfter, e.Message)
		}
		return "too many requests: " + e.Message
	}
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Is makes errors.Is(err, ErrNotFound) and the like true for an Error of
// that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == 0 && t.Code == e.Code
}

// Sentinels to test an Error's code with errors.Is.
var (
	ErrBadRequest      = &Error{Code: wire.CodeBadRequest}
	ErrUnauthenticated = &Error{Code: wire.CodeUnauthenticated}
	ErrForbidden       = &Error{Code: wire.CodeForbidden}
	ErrNotFound        = &Error{Code: wire.CodeNotFound}
	ErrConflict        = &Error{Code: wire.CodeConflict}
	ErrUnavailable     = &Error{Code: wire.CodeUnavailable}
)

// codeOfStatus names the code of a status when the body carries none (a
// proxy's answer, or a route this server does not have).
func codeOfStatus(status int) wire.Code {
	for _, c := range []wire.Code{wire.CodeBadRequest, wire.CodeUnauthenticated, wire.CodeForbidden,
		wire.CodeNotFound, wire.CodeConflict, wire.CodePayloadTooLarge, wire.CodeTooManyRequests,
		wire.CodeUnavailable} {
		if c.Status() == status {
			return c
		}
	}
	return wire.CodeInternal
}

// ErrTLSUnverified says the server's certificate is not signed by a known
// authority, as with the self-signed certificate a server makes at its
// first start.
var ErrTLSUnverified = errors.New("the server's TLS certificate is not trusted: pass --certificate-authority FILE with its CA, or --insecure-skip-tls-verify to accept any certificate")

// transportError explains a failure to reach the server.
func transportError(server string, err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &unknown), errors.As(err, &invalid):
		return fmt.Errorf("%s: %w", server, ErrTLSUnverified)
	case errors.As(err, &hostname):
		return fmt.Errorf("%s: the server's TLS certificate is for other names: %w", server, err)
	}
	return fmt.Errorf("cannot reach the server %s: %w", server, err)
}
