package engine

import (
	"errors"
)

// Error is a failed sync step. Reason is one of the api's Reason constants
// and becomes the Ready condition's reason.
type Error struct {
	Reason string
	Err    error
	// Stalled is true when retrying cannot help without a change from the
	// user (a bad path, a broken manifest, an invalid spec).
	Stalled bool
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

func failed(reason string, err error) *Error { return &Error{Reason: reason, Err: err} }

func stalled(reason string, err error) *Error { return &Error{Reason: reason, Err: err, Stalled: true} }

// ReasonOf returns the Reason of an engine error, or fallback.
func ReasonOf(err error, fallback string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return fallback
}

// IsStalled reports whether err says that retrying cannot help.
func IsStalled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Stalled
}
