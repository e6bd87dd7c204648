package gitserver

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// HTTPOptions configures a smart-HTTP git server.
type HTTPOptions struct {
	// Root is the folder of bare repositories served; required.
	Root string
	// Username and Password, when Username is set, are accepted as basic
	// authentication.
	Username, Password string
	// BearerToken, when set, is accepted as `Authorization: Bearer <token>`.
	// With both set, either one is accepted; with neither, every request is.
	BearerToken string
	// TLS serves https with a certificate for 127.0.0.1 signed by the CA
	// that CACert returns.
	TLS bool
}

// Counts says what reached a server. Requests that failed authentication
// count in Requests and Unauthorized only.
type Counts struct {
	Requests     int64
	Unauthorized int64
	// LsRefs counts ref listings (protocol v2 ls-refs commands).
	LsRefs int64
	// Fetches counts pack requests of git-upload-pack: one per round of a
	// fetch or clone.
	Fetches int64
	// Pushes counts git-receive-pack sessions that sent commands.
	Pushes int64
}

// HTTP is a running smart-HTTP git server.
type HTTP struct {
	opts   HTTPOptions
	srv    *httptest.Server
	cgi    *cgi.Handler
	counts struct{ requests, unauthorized, lsRefs, fetches, pushes atomic.Int64 }
	once   sync.Once
}

// maxRequestBody bounds the request bodies the server reads to count them.
const maxRequestBody = 64 << 20

// NewHTTP starts a smart-HTTP server on 127.0.0.1 for the repositories below
// opts.Root. It stops when the test ends.
func NewHTTP(t testing.TB, opts HTTPOptions) *HTTP {
	t.Helper()
	if opts.Root == "" {
		t.Fatal("gitserver: HTTPOptions.Root is required")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	s := &HTTP{opts: opts}
	s.cgi = &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env: append(gitEnv(""),
			"GIT_PROJECT_ROOT="+opts.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			// Pushes over HTTP are allowed, for tests that push as a user would.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		),
		Stderr: io.Discard,
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if opts.TLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the URL of the repository named repo (for example
// "org/config.git").
func (s *HTTP) URL(repo string) string {
	return s.srv.URL + "/" + strings.TrimPrefix(repo, "/")
}

// CACert returns the PEM certificate that signs the server's certificate,
// or nil for a plain-HTTP server.
func (s *HTTP) CACert() []byte {
	if !s.opts.TLS {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Counts returns what reached the server so far.
func (s *HTTP) Counts() Counts {
	return Counts{
		Requests:     s.counts.requests.Load(),
		Unauthorized: s.counts.unauthorized.Load(),
		LsRefs:       s.counts.lsRefs.Load(),
		Fetches:      s.counts.fetches.Load(),
		Pushes:       s.counts.pushes.Load(),
	}
}

// Close stops the server and waits for the requests in flight.
func (s *HTTP) Close() {
	s.once.Do(s.srv.Close)
}

func (s *HTTP) serve(w http.ResponseWriter, r *http.Request) {
	s.counts.requests.Add(1)
	if !s.authorized(r) {
		s.counts.unauthorized.Add(1)
		if s.opts.Username != "" {
			w.Header().Add("WWW-Authenticate", `Basic realm="gitserver"`)
		}
		if s.opts.BearerToken != "" {
			w.Header().Add("WWW-Authenticate", `Bearer realm="gitserver"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
		if err != nil {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		s.count(r, body)
		// The CGI handler needs a known length; the body is buffered now.
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	}
	s.cgi.ServeHTTP(w, r)
}

func (s *HTTP) authorized(r *http.Request) bool {
	if s.opts.Username == "" && s.opts.BearerToken == "" {
		return true
	}
	if user, pass, ok := r.BasicAuth(); ok && s.opts.Username != "" {
		return equal(user, s.opts.Username) && equal(pass, s.opts.Password)
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.opts.BearerToken != "" {
		return equal(token, s.opts.BearerToken)
	}
	return false
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// count classifies one POST by the git command in its body.
func (s *HTTP) count(r *http.Request, body []byte) {
	if r.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if plain, err := io.ReadAll(io.LimitReader(zr, maxRequestBody)); err == nil {
				body = plain
			}
		}
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
		s.counts.pushes.Add(1)
	case !strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
	case bytes.Contains(body, []byte("command=ls-refs")):
		s.counts.lsRefs.Add(1)
	default: // protocol v2 "command=fetch", or a protocol v0 negotiation
		s.counts.fetches.Add(1)
	}
}
