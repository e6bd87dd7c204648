package ociserver

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	orasremote "oras.land/oras-go/v2/registry/remote"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"
)

// Options configures a registry.
type Options struct {
	// Username and Password, when Username is set, are required as basic
	// authentication on every request; without them every request is
	// served.
	Username, Password string
}

// Counts says what reached a registry. Requests that failed
// authentication count in Requests and Unauthorized only.
type Counts struct {
	Requests     int64
	Unauthorized int64
	// ManifestGets counts GET requests for manifests (HEAD requests, which
	// resolve a tag, do not count).
	ManifestGets int64
	// BlobGets counts GET requests for blobs: configs and layers.
	BlobGets int64
	// TagLists counts tag listings.
	TagLists int64
}

// Server is a running registry.
type Server struct {
	opts   Options
	srv    *httptest.Server
	counts struct{ requests, unauthorized, manifestGets, blobGets, tagLists atomic.Int64 }
	once   sync.Once
}

// New starts a registry on 127.0.0.1 that serves https. It stops when the
// test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	s.srv = httptest.NewUnstartedServer(s.handler(reg))
	// Clients that refuse the certificate are what some tests are about.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// Host returns the registry's host:port, as an OCI reference names it.
func (s *Server) Host() string {
	return strings.TrimPrefix(s.srv.URL, "https://")
}

// URL returns the oci:// URL of the repository repo (for example
// "apps/guestbook").
func (s *Server) URL(repo string) string {
	return "oci://" + s.Host() + "/" + strings.TrimPrefix(repo, "/")
}

// CACert returns the PEM certificate that signs the server's certificate.
func (s *Server) CACert() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Counts returns what reached the server so far.
func (s *Server) Counts() Counts {
	return Counts{
		Requests:     s.counts.requests.Load(),
		Unauthorized: s.counts.unauthorized.Load(),
		ManifestGets: s.counts.manifestGets.Load(),
		BlobGets:     s.counts.blobGets.Load(),
		TagLists:     s.counts.tagLists.Load(),
	}
}

// Close stops the server and waits for the requests in flight.
func (s *Server) Close() {
	s.once.Do(s.srv.Close)
}

// Repository returns an oras client of the repository repo that trusts the
// server and carries its credentials, for tests that push content of their
// own (signatures, for example).
func (s *Server) Repository(t testing.TB, repo string) *orasremote.Repository {
	t.Helper()
	r, err := orasremote.NewRepository(s.Host() + "/" + strings.TrimPrefix(repo, "/"))
	if err != nil {
		t.Fatalf("ociserver: repository %q: %v", repo, err)
	}
	cred := orasauth.EmptyCredential
	if s.opts.Username != "" {
		cred = orasauth.Credential{Username: s.opts.Username, Password: s.opts.Password}
	}
	r.Client = &orasauth.Client{
		Client:     s.srv.Client(),
		Credential: orasauth.StaticCredential(s.Host(), cred),
		Cache:      orasauth.NewCache(),
	}
	return r
}

func (s *Server) handler(reg http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.counts.requests.Add(1)
		if !s.authorized(r) {
			s.counts.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="ociserver"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		s.count(r)
		reg.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" {
		return true
	}
	user, password, ok := r.BasicAuth()
	return ok && equal(user, s.opts.Username) && equal(password, s.opts.Password)
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) count(r *http.Request) {
	if r.Method != http.MethodGet {
		return
	}
	elems := strings.Split(r.URL.Path, "/")
	if len(elems) < 3 {
		return
	}
	switch elems[len(elems)-2] {
	case "manifests":
		s.counts.manifestGets.Add(1)
	case "blobs":
		s.counts.blobGets.Add(1)
	}
	if strings.HasSuffix(r.URL.Path, "/tags/list") {
		s.counts.tagLists.Add(1)
	}
}
