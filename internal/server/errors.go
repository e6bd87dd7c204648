package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// apiError is an error with the code the API answers it with. Message is
// what the caller reads; Err, if any, is logged, never sent.
type apiError struct {
	Code    wire.Code
	Message string
	Err     error
}

func (e *apiError) Error() string {
	// A Message that is its cause's own text (a live view's error passed
	// on) is said once.
	if e.Err != nil && e.Err.Error() != e.Message {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *apiError) Unwrap() error { return e.Err }

func errorf(code wire.Code, format string, args ...any) error {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return errorf(wire.CodeBadRequest, format, args...)
}

// notFound is the one answer for an object that is missing and for one the
// caller may not see, so that neither tells the other apart.
func notFound(kind, namespace, name string) error {
	return errorf(wire.CodeNotFound, "%s %s/%s not found", kind, namespace, name)
}

func forbidden(verb, namespace, name string) error {
	return errorf(wire.CodeForbidden, "%s on %s/%s is not allowed", verb, namespace, name)
}

// errUnavailable answers what a part of the server not yet running would do.
var errUnavailable = errors.New("unavailable")

// errorBody maps err to its status and body. Errors of the hub's API server
// keep their class (a Conflict stays a Conflict) and a message of Flotilla's
// own wording around the server's: a Kubernetes status message names the
// object and the rule, never a Secret's value.
func errorBody(err error) (int, wire.Error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.Code.Status(), wire.Error{Code: ae.Code, Message: ae.Message}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, wire.Error{Code: wire.CodePayloadTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable, wire.Error{Code: wire.CodeUnavailable, Message: err.Error()}
	}
	code := kubeCode(err)
	if code == wire.CodeInternal {
		return http.StatusInternalServerError, wire.Error{Code: code, Message: "internal error"}
	}
	return code.Status(), wire.Error{Code: code, Message: kubeMessage(err)}
}

// kubeCode classifies an error of the hub's API server.
func kubeCode(err error) wire.Code {
	switch {
	case apierrors.IsNotFound(err):
		return wire.CodeNotFound
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return wire.CodeConflict
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return wire.CodeBadRequest
	case apierrors.IsRequestEntityTooLargeError(err):
		return wire.CodePayloadTooLarge
	case apierrors.IsTooManyRequests(err):
		return wire.CodeTooManyRequests
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return wire.CodeUnavailable
	}
	return wire.CodeInternal
}

func kubeMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Message
	}
	return err.Error()
}

// writeError answers err; a server-side failure is logged with its cause
// and answered without it.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, body := errorBody(err)
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	if body.Code == wire.CodeTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
