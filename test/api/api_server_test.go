package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAPIServerBasics: HTTP/2 over TLS, health, readiness, metrics by route
// pattern and code, JSON errors for unknown routes; on SIGTERM the server
// ends its streams and exits at once.
func TestAPIServerBasics(t *testing.T) {
	tok := adminToken(t)
	s := api(t)
	resp, err := s.Client.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	status, body := call(t, tok, http.MethodGet, "/api/v1/nothing-here", nil)
	if status != http.StatusNotFound || !strings.Contains(string(body), `"code":"NotFound"`) {
		t.Errorf("unknown route: %d %s", status, body)
	}
	expect(t, tok, http.MethodGet, "/api/v1/applications/flotilla-system/nothing-here", nil, http.StatusNotFound, nil)
	resp, err = s.Client.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`flotilla_server_requests_total{code="404",method="GET",route="GET /api/v1/applications/{namespace}/{name}"}`,
		`flotilla_server_request_duration_seconds_bucket{code="200",method="GET",route="GET /healthz"`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(metrics), "nothing-here") {
		t.Errorf("/metrics has a raw path as a label")
	}

	second, err := env.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loginWith(second, "nobody", "wrong-password"); err == nil {
		t.Fatalf("a wrong password logged in")
	}
	st := openStreamAt(t, second, tok)
	start := time.Now()
	second.Stop()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the server took %s to stop with a stream open", d)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-st.events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the stream did not end at shutdown")
		}
	}
}
