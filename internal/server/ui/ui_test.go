package ui_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/server/ui"
)

func newHandler(t *testing.T) *ui.Handler {
	t.Helper()
	h, err := ui.New(ui.DefaultOptions())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every response carries a Content-Security-Policy that forbids inline
// scripts and styles and javascript: URLs.
func TestEveryResponseHasStrictCSP(t *testing.T) {
	h := newHandler(t)
	for _, p := range []string{"/", "/applications/ns/x", "/assets/" + h.Version() + "/main.js", "/assets/nope/main.js", "/api/v1/nope", "/favicon.ico"} {
		res := get(t, h, http.MethodGet, p, nil)
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "default-src 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows unsafe code: %q", p, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", p)
		}
	}
}

// index.html has no inline script or style and names the versioned assets.
func TestIndexHasNoInlineCode(t *testing.T) {
	h := newHandler(t)
	res := get(t, h, http.MethodGet, "/", nil)
	html := body(t, res)
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	if strings.Contains(html, "{{ASSETS}}") || !strings.Contains(html, h.AssetsPath()+"/main.js") {
		t.Errorf("index.html does not name %s/main.js:\n%s", h.AssetsPath(), html)
	}
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(m, "src=") {
			t.Errorf("inline script: %s", m)
		}
	}
	if strings.Contains(html, "<style") || strings.Contains(html, "style=") {
		t.Errorf("inline style in index.html")
	}
}

// Deep links get index.html; unknown files and API paths get a 404.
func TestRoutesServeIndexAndMissingFiles404(t *testing.T) {
	h := newHandler(t)
	cases := []struct {
		path   string
		status int
		html   bool
	}{
		{"/", 200, true},
		{"/login", 200, true},
		{"/applications/flotilla-system/web", 200, true},
		{"/fleets/flotilla-system/shop", 200, true},
		{"/favicon.ico", 404, false},
		{"/api/v1/unknown", 404, false},
		{"/auth/unknown", 404, false},
		{"/assets/" + h.Version() + "/nope.js", 404, false},
		{"/assets/" + h.Version() + "/../embed.go", 404, false},
		{"/assets/0000000000000000/main.js", 404, false},
	}
	for _, c := range cases {
		res := get(t, h, http.MethodGet, c.path, nil)
		isHTML := strings.HasPrefix(res.Header.Get("Content-Type"), "text/html")
		if res.StatusCode != c.status || isHTML != c.html {
			t.Errorf("%s: status %d html %v, want %d html %v", c.path, res.StatusCode, isHTML, c.status, c.html)
		}
	}
	if res := get(t, h, http.MethodPost, "/", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", res.StatusCode)
	}
}

// Versioned assets are immutable, typed, and gzipped for browsers that ask.
func TestAssetsAreImmutableAndCompressed(t *testing.T) {
	h := newHandler(t)
	p := "/assets/" + h.Version() + "/vendor/preact.mjs"
	res := get(t, h, http.MethodGet, p, map[string]string{"Accept-Encoding": "gzip, br"})
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d", p, res.StatusCode)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control %q", cc)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("not gzipped")
	}
	zr, err := gzip.NewReader(strings.NewReader(body(t, res)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	raw := body(t, get(t, h, http.MethodGet, p, nil))
	if !bytes.Equal(plain, []byte(raw)) || !strings.Contains(raw, "export") {
		t.Errorf("gzipped body differs from the plain one")
	}
	if h.CompressedSize() <= 0 {
		t.Errorf("CompressedSize %d", h.CompressedSize())
	}
}

// No asset of the UI writes HTML from strings: nothing assigns innerHTML
// or outerHTML, calls insertAdjacentHTML or document.write, or uses
// dangerouslySetInnerHTML (the vendored Preact only uses innerHTML for the
// latter).
func TestNoHTMLFromStrings(t *testing.T) {
	h := newHandler(t)
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|dangerouslySetInnerHTML|eval\(|new Function`)
	for _, name := range h.AssetNames() {
		if strings.HasPrefix(name, "vendor/") || !strings.HasSuffix(name, ".js") {
			continue
		}
		src := body(t, get(t, h, http.MethodGet, "/assets/"+h.Version()+"/"+name, nil))
		if m := bad.FindString(src); m != "" {
			t.Errorf("%s uses %s", name, m)
		}
	}
}
