package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/server/ui"
)

// TestUIMountLeavesTheAPI: with the web UI mounted at "/", as `flotilla
// server` mounts it, every documented operation still reaches its own
// route, and the UI gets the paths of its pages.
func TestUIMountLeavesTheAPI(t *testing.T) {
	h, err := ui.New(ui.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, adminAccess{register: registerExternalForTest})
	s.opts.Mounts = append(s.opts.Mounts, h.Mount)
	mux := s.mux()
	for op := range documented(s.openAPI()) {
		method, path, _ := strings.Cut(op, " ")
		url := strings.NewReplacer("{namespace}", "ns", "{name}", "n").Replace(path)
		if _, pattern := mux.Handler(httptest.NewRequest(method, url, nil)); pattern != op {
			t.Errorf("with the UI mounted, %s goes to %q", op, pattern)
		}
	}
	for _, page := range []string{"/", "/applications/ns/n", "/login", "/assets/x/app.css"} {
		if _, pattern := mux.Handler(httptest.NewRequest("GET", page, nil)); pattern != "/" {
			t.Errorf("GET %s goes to %q, want the UI", page, pattern)
		}
	}
}
