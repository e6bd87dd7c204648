package helmserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// Options configures a Server.
type Options struct {
	// Username and Password, when Username is set, are required as basic
	// authentication on every request.
	Username, Password string
}

// Server is a running Helm repository.
type Server struct {
	opts Options
	srv  *httptest.Server
	once sync.Once

	mu       sync.Mutex
	versions []chartVersion
	archives map[string][]byte // by URL path, "/charts/<name>-<version>.tgz"
	rawIndex []byte            // served instead of the generated index when set
	requests map[string]int
}

// chartVersion is one chart version the index lists.
type chartVersion struct {
	name, version, path, digest string
}

// created is the creation time written in the index, fixed so that the
// index of the same charts is always the same.
var created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// New starts a repository on 127.0.0.1 over TLS. It stops when the test
// ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, archives: map[string][]byte{}, requests: map[string]int{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// URL returns the repository's URL, for `helm repo add`; index.yaml is
// below it.
func (s *Server) URL() string { return s.srv.URL }

// CACert returns the PEM certificate that signs the server's certificate.
func (s *Server) CACert() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Close stops the server and waits for the requests in flight.
func (s *Server) Close() { s.once.Do(s.srv.Close) }

// AddChart packages files (paths inside the chart's folder, such as
// "templates/cm.yaml") as version of chart name, lists it in the index, and
// returns the archive's digest, "sha256:<hex>". A Chart.yaml naming the
// chart and version is added when files has none.
func (s *Server) AddChart(t testing.TB, name, version string, files map[string]string) string {
	t.Helper()
	inChart := map[string]string{name + "/Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: " + version + "\n"}
	for p, content := range files {
		inChart[name+"/"+p] = content
	}
	return s.AddRawArchive(name, version, Archive(t, inChart))
}

// AddRawArchive lists tgz, whatever it holds, as version of chart name, and
// returns its digest, "sha256:<hex>". A version added again replaces the
// earlier one.
func (s *Server) AddRawArchive(name, version string, tgz []byte) string {
	sum := sha256.Sum256(tgz)
	digest := hex.EncodeToString(sum[:])
	path := "/charts/" + name + "-" + version + ".tgz"
	s.mu.Lock()
	defer s.mu.Unlock()
	s.archives[path] = tgz
	kept := s.versions[:0]
	for _, v := range s.versions {
		if v.name != name || v.version != version {
			kept = append(kept, v)
		}
	}
	s.versions = append(kept, chartVersion{name: name, version: version, path: path, digest: digest})
	return "sha256:" + digest
}

// SetIndex makes the server answer raw for index.yaml, whatever it holds;
// nil goes back to the index of the charts added.
func (s *Server) SetIndex(raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rawIndex = raw
}

// Index returns the index of the charts added, as the server serves it
// unless SetIndex replaced it: a starting point for a hostile one.
func (s *Server) Index(t testing.TB) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.indexLocked()
	if err != nil {
		t.Fatalf("helmserver: %v", err)
	}
	return out
}

// Requests returns how many requests reached each path so far.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

// indexFile and indexVersion are Helm's index format (repo.IndexFile),
// with the fields Helm's own `helm repo index` writes for a chart.
type indexFile struct {
	APIVersion string                    `json:"apiVersion"`
	Entries    map[string][]indexVersion `json:"entries"`
	Generated  time.Time                 `json:"generated"`
}

type indexVersion struct {
	APIVersion string    `json:"apiVersion"`
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	Created    time.Time `json:"created"`
	Digest     string    `json:"digest"`
	URLs       []string  `json:"urls"`
}

// indexLocked renders the index, each chart's versions newest first as
// Helm sorts them.
func (s *Server) indexLocked() ([]byte, error) {
	idx := indexFile{APIVersion: "v1", Entries: map[string][]indexVersion{}, Generated: created}
	for _, v := range s.versions {
		idx.Entries[v.name] = append(idx.Entries[v.name], indexVersion{
			APIVersion: "v2", Name: v.name, Version: v.version, Created: created,
			Digest: v.digest, URLs: []string{v.path[1:]}, // relative to the repository
		})
	}
	for _, list := range idx.Entries {
		sort.SliceStable(list, func(i, j int) bool { return newer(list[i].Version, list[j].Version) })
	}
	return yaml.Marshal(idx)
}

// newer orders versions as Helm's SortEntries does: semver descending,
// versions that do not parse last.
func newer(a, b string) bool {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	switch {
	case errA != nil || errB != nil:
		return errA == nil && errB != nil
	}
	return va.GreaterThan(vb)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.mu.Unlock()
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="helmserver"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	var (
		body        []byte
		err         error
		contentType = "application/gzip"
	)
	switch {
	case r.URL.Path == "/index.yaml" && s.rawIndex != nil:
		body, contentType = s.rawIndex, "application/x-yaml"
	case r.URL.Path == "/index.yaml":
		body, err = s.indexLocked()
		contentType = "application/x-yaml"
	default:
		body = s.archives[r.URL.Path]
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if body == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" {
		return true
	}
	user, pass, ok := r.BasicAuth()
	return ok && equal(user, s.opts.Username) && equal(pass, s.opts.Password)
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
