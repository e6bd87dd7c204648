package auth

import (
	"errors"
	"time"
)

// ErrUnauthenticated is wrapped by every error of Authenticate: no token,
// or a token that is malformed, badly signed, expired, for another
// audience or issuer, signed by an unknown key, or revoked.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrCSRF is returned by CheckCSRF when a write authenticated by the
// session cookie lacks the matching X-CSRF-Token header.
var ErrCSRF = errors.New("missing or wrong CSRF token")

// ErrBadCredentials is a failed login: an unknown user or a wrong
// password, on purpose the same error for both.
var ErrBadCredentials = errors.New("invalid username or password")

// ErrInvalidPassword is a new password that Flotilla refuses.
var ErrInvalidPassword = errors.New("invalid password")

// ErrInvalidAccount is a broken account name or account configuration.
var ErrInvalidAccount = errors.New("invalid account")

// RateLimitError is a login refused because too many attempts failed
// lately, for the user or for the client address.
type RateLimitError struct {
	// RetryAfter is how long until the next attempt is allowed.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return "too many failed logins; retry after " + e.RetryAfter.Round(time.Second).String()
}
