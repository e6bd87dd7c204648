package apiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

const token = "canary-token-0123456789"

func newClient(t *testing.T, srv *httptest.Server, opts apiclient.Options) *apiclient.Client {
	t.Helper()
	opts.Server = srv.URL
	if opts.Token == "" {
		opts.Token = token
	}
	if srv.TLS != nil && !opts.InsecureSkipTLSVerify {
		opts.CAData = pemOf(srv)
	}
	c, err := apiclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeError(w http.ResponseWriter, code wire.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code.Status())
	_ = json.NewEncoder(w).Encode(wire.Error{Code: code, Message: msg})
}

// TestErrorMapping checks that each {code, message} answer becomes an
// *Error that errors.Is recognises, with a clear message, and that no
// message carries the token.
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		code     wire.Code
		sentinel error
		want     string
	}{
		{wire.CodeNotFound, apiclient.ErrNotFound, "application flotilla-system/web not found"},
		{wire.CodeUnauthenticated, apiclient.ErrUnauthenticated, "not logged in, or the session expired: run `flotilla login SERVER` (token expired)"},
		{wire.CodeForbidden, apiclient.ErrForbidden, "permission denied: applications:sync in project shop"},
		{wire.CodeConflict, apiclient.ErrConflict, "the object changed"},
		{wire.CodeBadRequest, apiclient.ErrBadRequest, "bad revision"},
	}
	for _, tc := range cases {
		t.Run(string(tc.code), func(t *testing.T) {
			msg := map[wire.Code]string{wire.CodeNotFound: "application flotilla-system/web not found",
				wire.CodeUnauthenticated: "token expired", wire.CodeForbidden: "applications:sync in project shop",
				wire.CodeConflict: "the object changed", wire.CodeBadRequest: "bad revision"}[tc.code]
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeError(w, tc.code, msg)
			}))
			defer srv.Close()
			_, err := newClient(t, srv, apiclient.Options{}).GetApplication(context.Background(), "flotilla-system", "web")
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
			if err.Error() != tc.want {
				t.Errorf("message %q, want %q", err.Error(), tc.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Error("the error carries the token")
			}
		})
	}
}

func TestErrorWithoutBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "<html>slow down</html>", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := newClient(t, srv, apiclient.Options{}).ListApplications(context.Background(), apiclient.ListOptions{})
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.Code != wire.CodeTooManyRequests || apiErr.RetryAfter != "7" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "retry after 7s") {
		t.Errorf("message %q does not say when to retry", err.Error())
	}
}

// TestBearerTokenAndPaging checks the Authorization header and that a list
// reads every page with the continue token.
func TestBearerTokenAndPaging(t *testing.T) {
	var pages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			writeError(w, wire.CodeUnauthenticated, "no token")
			return
		}
		pages = append(pages, r.URL.RawQuery)
		page := wire.List[flotillav1.Application]{Total: 2}
		if r.URL.Query().Get("continue") == "" {
			page.Items = []flotillav1.Application{{}}
			page.Items[0].Name, page.Continue = "a", "next"
		} else {
			page.Items = []flotillav1.Application{{}}
			page.Items[0].Name = "b"
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	apps, err := newClient(t, srv, apiclient.Options{}).ListApplications(context.Background(),
		apiclient.ListOptions{Project: "shop", Health: "Degraded"})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].Name != "a" || apps[1].Name != "b" {
		t.Fatalf("apps = %+v", apps)
	}
	if want := []string{"health=Degraded&project=shop", "continue=next&health=Degraded&project=shop"}; fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Errorf("queries %q, want %q", pages, want)
	}
}

// TestRedirectNotFollowed checks that a redirect does not carry the token
// elsewhere.
func TestRedirectNotFollowed(t *testing.T) {
	var leaked bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("Authorization") != ""
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	}))
	defer srv.Close()
	_, err := newClient(t, srv, apiclient.Options{}).GetApplication(context.Background(), "ns", "web")
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if leaked {
		t.Error("the token followed the redirect")
	}
}

// TestSelfSignedCertificate checks that an unknown CA is refused with a
// hint, and accepted with the CA or with --insecure-skip-tls-verify.
func TestSelfSignedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(wire.Settings{Version: "v1", PasswordLogin: true})
	}))
	defer srv.Close()
	plain, err := apiclient.New(apiclient.Options{Server: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Settings(context.Background()); !errors.Is(err, apiclient.ErrTLSUnverified) {
		t.Fatalf("err = %v, want ErrTLSUnverified", err)
	}
	for name, opts := range map[string]apiclient.Options{"ca": {}, "insecure": {InsecureSkipTLSVerify: true}} {
		if _, err := newClient(t, srv, opts).Settings(context.Background()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAnswerBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"items": ["`))
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range apiclient.MaxBodyBytes>>20 + 1 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, err := newClient(t, srv, apiclient.Options{}).ListProjects(context.Background(), apiclient.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want the answer refused for its size", err)
	}
}

func TestStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("kinds") != "applications" {
			writeError(w, wire.CodeBadRequest, "kinds")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": ping\n\nid: 1\nevent: ADDED\ndata: {\"kind\": \"Application\",\ndata:  \"object\": {\"metadata\": {\"name\": \"a\"}}}\n\n")
		fmt.Fprint(w, "id: 2\nevent: DELETED\ndata: {\"kind\": \"Application\", \"object\": {\"metadata\": {\"name\": \"b\"}}}\n\n")
	}))
	defer srv.Close()
	var got []string
	err := newClient(t, srv, apiclient.Options{}).Stream(context.Background(), "applications", apiclient.ListOptions{},
		func(ev apiclient.StreamEvent) (bool, error) {
			var app flotillav1.Application
			if err := json.Unmarshal(ev.Object, &app); err != nil {
				return true, err
			}
			got = append(got, ev.ID+" "+ev.Type+" "+ev.Kind+" "+app.Name)
			return false, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[1 ADDED Application a 2 DELETED Application b]"; fmt.Sprint(got) != want {
		t.Errorf("events %v, want %s", got, want)
	}
}

func TestParseServer(t *testing.T) {
	for in, want := range map[string]string{
		"flotilla.example.com":          "https://flotilla.example.com",
		"localhost:8443":                "https://localhost:8443",
		"http://127.0.0.1:8080/":        "http://127.0.0.1:8080",
		"https://example.com/flotilla/": "https://example.com/flotilla",
	} {
		u, err := apiclient.ParseServer(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseServer(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "https://user:pw@x", "https://x?a=b"} {
		if _, err := apiclient.ParseServer(bad); err == nil {
			t.Errorf("ParseServer(%q) took it", bad)
		}
	}
}
