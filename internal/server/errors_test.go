package server

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

func TestErrorBody(t *testing.T) {
	gr := schema.GroupResource{Group: "flotilla.dev", Resource: "applications"}
	tests := []struct {
		name    string
		err     error
		status  int
		code    wire.Code
		message string
	}{
		{"not found", notFound("application", "ns", "web"), 404, wire.CodeNotFound, "application ns/web not found"},
		{"forbidden", forbidden("applications:sync", "ns", "web"), 403, wire.CodeForbidden, "applications:sync on ns/web is not allowed"},
		{"bad request", badRequest("limit %q", "x"), 400, wire.CodeBadRequest, `limit "x"`},
		{"wrapped api error", fmt.Errorf("sync: %w", badRequest("no")), 400, wire.CodeBadRequest, "no"},
		{"hub not found", apierrors.NewNotFound(gr, "web"), 404, wire.CodeNotFound, `applications.flotilla.dev "web" not found`},
		{"hub conflict", apierrors.NewConflict(gr, "web", errors.New("changed")), 409, wire.CodeConflict, ""},
		{"hub exists", apierrors.NewAlreadyExists(gr, "web"), 409, wire.CodeConflict, ""},
		{"hub invalid", apierrors.NewBadRequest("bad"), 400, wire.CodeBadRequest, "bad"},
		{"hub throttled", apierrors.NewTooManyRequests("slow down", 1), 429, wire.CodeTooManyRequests, ""},
		{"hub unavailable", apierrors.NewServiceUnavailable("down"), 503, wire.CodeUnavailable, ""},
		{"body too large", &http.MaxBytesError{Limit: 10}, 413, wire.CodePayloadTooLarge, "the request body is larger than 10 bytes"},
		{"unknown", errors.New("token=s3cr3t broke"), 500, wire.CodeInternal, "internal error"},
		{"unauthenticated", &apiError{Code: wire.CodeUnauthenticated, Message: "authentication required", Err: errors.New("bad sig")}, 401, wire.CodeUnauthenticated, "authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := errorBody(tt.err)
			if status != tt.status || body.Code != tt.code {
				t.Errorf("got %d %s, want %d %s", status, body.Code, tt.status, tt.code)
			}
			if tt.message != "" && body.Message != tt.message {
				t.Errorf("message %q, want %q", body.Message, tt.message)
			}
			if status != tt.code.Status() {
				t.Errorf("status %d is not the code's own %d", status, tt.code.Status())
			}
		})
	}
}

// TestAPIErrorSaysItsCauseOnce: the log line of a live view's failure, whose
// message is its cause's text, holds that text once; a message of its own
// is followed by its cause.
func TestAPIErrorSaysItsCauseOnce(t *testing.T) {
	cause := fmt.Errorf("%w: cluster dev-2: read the log: EOF", live.ErrUnavailable)
	if got := liveCode(cause).Error(); got != cause.Error() {
		t.Errorf("got %q, want %q", got, cause.Error())
	}
	own := &apiError{Code: wire.CodeUnauthenticated, Message: "authentication required", Err: errors.New("bad sig")}
	if got, want := own.Error(), "authentication required: bad sig"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
