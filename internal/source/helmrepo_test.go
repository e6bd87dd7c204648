package source_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// chartRequest asks srv for a chart, trusting srv's certificate.
func chartRequest(srv *helmserver.Server, chart, version string) source.ChartRequest {
	return source.ChartRequest{RepoURL: srv.URL(), Chart: chart, Version: version,
		Credentials: &source.Credentials{CACert: srv.CACert()}}
}

// fetchChart fetches req and fails the test on error; the artifact is
// released when the test ends.
func fetchChart(t *testing.T, c *source.Client, req source.ChartRequest) *source.Artifact {
	t.Helper()
	art, err := c.FetchChart(testContext(t), req)
	if err != nil {
		t.Fatalf("FetchChart(%s, %q): %v", req.Chart, req.Version, err)
	}
	t.Cleanup(art.Release)
	return art
}

// TestHelmFetchChart fetches and resolves exact versions and ranges, and
// checks what the artifact holds.
func TestHelmFetchChart(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	digests := map[string]string{}
	for _, v := range []string{"1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1", "0.9.0"} {
		digests[v] = srv.AddChart(t, "web", v, map[string]string{"values.yaml": "version: " + v + "\n"})
	}
	srv.AddChart(t, "other", "9.9.9", nil)
	c := newClient(t, nil)

	tests := []struct{ version, want string }{
		{"", "1.10.0"},
		{"1.0.0", "1.0.0"},
		{"~1.2", "1.2.0"},
		{">=1.0.0 <2.0.0", "1.10.0"},
		{"^1", "1.10.0"},
		{">=2.0.0-0", "2.0.0-rc.1"},
		{"2.0.0-rc.1", "2.0.0-rc.1"},
		{"<1", "0.9.0"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			req := chartRequest(srv, "web", tt.version)
			rev, err := c.ResolveChart(testContext(t), req)
			if err != nil {
				t.Fatalf("ResolveChart: %v", err)
			}
			want := source.Revision{Ref: tt.want, Commit: digests[tt.want]}
			if diff := cmp.Diff(want, rev); diff != "" {
				t.Errorf("ResolveChart (-want +got):\n%s", diff)
			}
			art := fetchChart(t, c, req)
			got := source.Revision{Ref: art.Ref, Commit: art.Commit}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FetchChart (-want +got):\n%s", diff)
			}
			if art.URL != srv.URL() || art.Revision != tt.version {
				t.Errorf("artifact names %s %q", art.URL, art.Revision)
			}
			files := readTree(t, art.Dir)
			wantFiles := map[string]string{
				"web/Chart.yaml":  "apiVersion: v2\nname: web\nversion: " + tt.want + "\n",
				"web/values.yaml": "version: " + tt.want + "\n",
			}
			if diff := cmp.Diff(wantFiles, files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHelmIndexCached fetches one chart from many goroutines, and other
// versions after: one index download, one archive download per version.
func TestHelmIndexCached(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, "web", "1.0.0", nil)
	srv.AddChart(t, "web", "1.1.0", nil)
	c := newClient(t, nil)

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			art, err := c.FetchChart(testContext(t), chartRequest(srv, "web", "1.0.0"))
			if err != nil {
				t.Errorf("FetchChart: %v", err)
				return
			}
			art.Release()
		})
	}
	wg.Wait()
	fetchChart(t, c, chartRequest(srv, "web", "~1.1"))
	if _, err := c.ResolveChart(testContext(t), chartRequest(srv, "web", "")); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"/index.yaml": 1, "/charts/web-1.0.0.tgz": 1, "/charts/web-1.1.0.tgz": 1}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestHelmRangeSeesNewVersion: a range picks up a new version once the
// cached index expires.
func TestHelmRangeSeesNewVersion(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, "web", "1.0.0", nil)
	c := newClient(t, nil)
	if art := fetchChart(t, c, chartRequest(srv, "web", "~1")); art.Ref != "1.0.0" {
		t.Fatalf("Ref = %s, want 1.0.0", art.Ref)
	}
	srv.AddChart(t, "web", "1.1.0", nil)
	if art := fetchChart(t, c, chartRequest(srv, "web", "~1")); art.Ref != "1.0.0" {
		t.Errorf("within the index TTL, Ref = %s, want 1.0.0 (the cached index)", art.Ref)
	}
	source.ExpireHelmIndexes(c)
	if art := fetchChart(t, c, chartRequest(srv, "web", "~1")); art.Ref != "1.1.0" {
		t.Errorf("after the index TTL, Ref = %s, want 1.1.0", art.Ref)
	}
	if n := srv.Requests()["/index.yaml"]; n != 2 {
		t.Errorf("index read %d times, want 2", n)
	}
}

// TestHelmCredentials: basic authentication right and wrong, credentials
// that must not be sent, and an index cached for some credentials never
// served to others.
func TestHelmCredentials(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{Username: "alice", Password: canary})
	srv.AddChart(t, "web", "1.0.0", nil)
	ca := srv.CACert()
	c := newClient(t, nil)
	req := func(creds *source.Credentials) source.ChartRequest {
		return source.ChartRequest{RepoURL: srv.URL(), Chart: "web", Version: "1.0.0", Credentials: creds}
	}

	fetchChart(t, c, req(&source.Credentials{Username: "alice", Password: canary, CACert: ca}))
	tests := []struct {
		name string
		req  source.ChartRequest
		want error
	}{
		{"wrong password", req(&source.Credentials{Username: "alice", Password: canary + "x", CACert: ca}), source.ErrAuth},
		{"no credentials", req(&source.Credentials{CACert: ca}), source.ErrAuth},
		{"bearer instead", req(&source.Credentials{BearerToken: canary, CACert: ca}), source.ErrAuth},
		{"untrusted certificate", req(&source.Credentials{Username: "alice", Password: canary}), source.ErrHostVerification},
		{"password over http", source.ChartRequest{RepoURL: "http://127.0.0.1:1/charts", Chart: "web",
			Credentials: &source.Credentials{Username: "alice", Password: canary}}, source.ErrCredentials},
		{"basic and bearer", req(&source.Credentials{Username: "alice", Password: canary, BearerToken: canary, CACert: ca}), source.ErrCredentials},
		{"header injection", req(&source.Credentials{BearerToken: canary + "\r\nX-Evil: 1", CACert: ca}), source.ErrCredentials},
		{"credentials in the URL", source.ChartRequest{RepoURL: strings.Replace(srv.URL(), "https://", "https://alice:"+canary+"@", 1),
			Chart: "web", Credentials: &source.Credentials{CACert: ca}}, source.ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.FetchChart(testContext(t), tt.req)
			wantError(t, err, tt.want)
			_, err = c.ResolveChart(testContext(t), tt.req)
			wantError(t, err, tt.want)
		})
	}
	// The right credentials read the index once; each wrong attempt asked
	// the server itself (twice: Fetch and Resolve are not cached on failure).
	if got := srv.Requests()["/index.yaml"]; got != 1+2*3 {
		t.Errorf("index requested %d times, want %d", got, 1+2*3)
	}
}

// TestHelmDigestMismatch serves an index whose digest is not the archive's:
// nothing is unpacked or cached.
func TestHelmDigestMismatch(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	digest := srv.AddChart(t, "web", "1.0.0", nil)
	hexDigest := strings.TrimPrefix(digest, "sha256:")
	forged := strings.Repeat("0", 64)
	srv.SetIndex(bytes.ReplaceAll(srv.Index(t), []byte(hexDigest), []byte(forged)))
	c := newClient(t, nil)

	_, err := c.FetchChart(testContext(t), chartRequest(srv, "web", "1.0.0"))
	wantError(t, err, source.ErrRegistry)
	if !strings.Contains(err.Error(), "digest") {
		t.Errorf("error %q does not mention the digest", err)
	}
	rev, err := c.ResolveChart(testContext(t), chartRequest(srv, "web", "1.0.0"))
	if err != nil || rev.Commit != "sha256:"+forged {
		t.Errorf("ResolveChart = %+v, %v; want the index's digest", rev, err)
	}
	if s := c.CacheStats(); s.Checkouts != 0 {
		t.Errorf("cache holds %+v after a refused archive", s)
	}
}

// TestHelmIndexWithoutDigest: an index that gives no digest still works;
// the digest is computed from the archive.
func TestHelmIndexWithoutDigest(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	digest := srv.AddChart(t, "web", "1.0.0", nil)
	srv.SetIndex([]byte("apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    urls: [charts/web-1.0.0.tgz]\n"))
	c := newClient(t, nil)
	if art := fetchChart(t, c, chartRequest(srv, "web", "")); art.Commit != digest {
		t.Errorf("Commit = %s, want %s", art.Commit, digest)
	}
}

// TestHelmRefusesBadNames: chart names with path parts never reach the
// server.
func TestHelmRefusesBadNames(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, "web", "1.0.0", nil)
	c := newClient(t, nil)
	for _, name := range []string{"", "../web", "a/b", "..", ".", `a\b`, "-web", "web%2f..", "web\n", strings.Repeat("a", 300)} {
		_, err := c.FetchChart(testContext(t), chartRequest(srv, name, ""))
		wantError(t, err, source.ErrInvalidURL)
		_, err = c.ResolveChart(testContext(t), chartRequest(srv, name, ""))
		wantError(t, err, source.ErrInvalidURL)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("refused names reached the server: %v", srv.Requests())
	}
}

// TestHelmUnsafeArchives: archives that escape their folder or hold another
// chart are refused, and nothing of them is kept.
func TestHelmUnsafeArchives(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	chartYAML := "apiVersion: v2\nname: web\nversion: 1.0.0\n"
	archives := map[string]map[string]string{
		"1.0.0": {"web/Chart.yaml": chartYAML, "web/../../escape": "x"},
		"1.0.1": {"web/Chart.yaml": chartYAML, "/etc/cron.d/x": "x"},
		"1.0.2": {"other/Chart.yaml": chartYAML},
		"1.0.3": {"web/Chart.yaml": chartYAML, "extra/file": "x"},
		"1.0.4": {"web/values.yaml": "x: 1\n"},
	}
	for v, files := range archives {
		srv.AddRawArchive("web", v, helmserver.Archive(t, files))
	}
	srv.AddRawArchive("web", "1.0.5", []byte("not gzip at all"))
	c := newClient(t, nil)
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5"} {
		_, err := c.FetchChart(testContext(t), chartRequest(srv, "web", v))
		wantError(t, err, source.ErrUnsafeArchive)
	}
	if s := c.CacheStats(); s.Checkouts != 0 {
		t.Errorf("cache holds %+v after refused archives", s)
	}
}

// TestHelmHostileIndexes: indexes too large, too many entries, alias bombs
// and garbage are refused as invalid.
func TestHelmHostileIndexes(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	c := newClient(t, nil)
	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nversions: &v\n")
	for i := range 1000 {
		fmt.Fprintf(&bomb, "- {name: web, version: 1.0.%d, urls: [x.tgz]}\n", i)
	}
	bomb.WriteString("entries:\n")
	for i := range 300 {
		fmt.Fprintf(&bomb, "  c%d: *v\n", i)
	}
	tests := []struct {
		name   string
		index  []byte
		detail string
	}{
		{"huge", bytes.Repeat([]byte("# padding\n"), 4<<20), "larger than"},
		{"alias bomb", []byte(bomb.String()), "more than 200000 chart versions"},
		// 8 MiB of one-letter values: 4 million nodes, about 1 GB parsed.
		{"dense", append([]byte("apiVersion: v1\nentries: {x: ["), bytes.Repeat([]byte("a,"), 4<<20)...), "more than 3000000 YAML nodes"},
		{"not YAML", []byte("apiVersion: v1\nentries: [\n"), "not YAML"},
		{"no apiVersion", []byte("entries: {}\n"), "no apiVersion"},
		{"a list", []byte("- a\n- b\n"), "not a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.SetIndex(tt.index)
			_, err := c.FetchChart(testContext(t), chartRequest(srv, "web", ""))
			wantError(t, err, source.ErrInvalidIndex)
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
		})
	}
}

// TestHelmErrors: what a missing chart, version, repository or server is.
func TestHelmErrors(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, "web", "1.0.0", nil)
	srv.AddChart(t, "web", "2.0.0-rc.1", nil)
	srv.AddChart(t, "pre", "1.0.0-alpha", nil)
	c := newClient(t, nil)
	ca := srv.CACert()
	tests := []struct {
		name   string
		req    source.ChartRequest
		want   error
		detail string
	}{
		{"unknown chart", chartRequest(srv, "nope", ""), source.ErrRevisionNotFound, `no chart "nope"`},
		{"no version in range", chartRequest(srv, "web", ">=3"), source.ErrRevisionNotFound, `chart "web" has no version in range ">=3"`},
		{"unknown exact version", chartRequest(srv, "web", "1.0.1"), source.ErrRevisionNotFound, `chart "web" has no version "1.0.1"`},
		{"only pre-releases", chartRequest(srv, "pre", ""), source.ErrRevisionNotFound, "pre-releases"},
		{"bad range", chartRequest(srv, "web", ">>1"), source.ErrInvalidRevision, "semver"},
		{"unprintable version", chartRequest(srv, "web", "1\x00"), source.ErrInvalidRevision, ""},
		{"no repository", source.ChartRequest{RepoURL: srv.URL() + "/nope", Chart: "web", Credentials: &source.Credentials{CACert: ca}},
			source.ErrRepositoryNotFound, "404"},
		{"unreachable", source.ChartRequest{RepoURL: "https://" + closedAddr(t), Chart: "web"}, source.ErrUnreachable, ""},
		{"git scheme", source.ChartRequest{RepoURL: "ssh://git@example.com/charts", Chart: "web"}, source.ErrInvalidURL, ""},
		{"query", source.ChartRequest{RepoURL: srv.URL() + "/?x=1", Chart: "web"}, source.ErrInvalidURL, ""},
		{"verification", source.ChartRequest{RepoURL: srv.URL(), Chart: "web", Verify: &source.Verification{Provider: source.VerifyCosign}},
			source.ErrUnverified, "OCI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.FetchChart(testContext(t), tt.req)
			wantError(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
			var e *source.Error
			if errors.As(err, &e) && (e.Type != "helm" || e.Op != "fetch") {
				t.Errorf("error type %q op %q, want helm fetch", e.Type, e.Op)
			}
		})
	}
}

// TestHelmChartOnAnotherHost: an index may point to another host, which is
// asked without the repository's credentials.
func TestHelmChartOnAnotherHost(t *testing.T) {
	files := helmserver.New(t, helmserver.Options{})
	digest := files.AddChart(t, "web", "1.0.0", nil)
	index := fmt.Sprintf("apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    digest: %s\n    urls: [%s/charts/web-1.0.0.tgz]\n",
		strings.TrimPrefix(digest, "sha256:"), files.URL())
	private := helmserver.New(t, helmserver.Options{Username: "alice", Password: canary})
	private.SetIndex([]byte(index))
	c := newClient(t, nil)

	req := source.ChartRequest{RepoURL: private.URL(), Chart: "web",
		Credentials: &source.Credentials{Username: "alice", Password: canary, CACert: private.CACert()}}
	if art := fetchChart(t, c, req); art.Commit != digest {
		t.Errorf("Commit = %s, want %s", art.Commit, digest)
	}
	if n := files.Requests()["/charts/web-1.0.0.tgz"]; n != 1 {
		t.Errorf("the other host served the archive %d times, want 1", n)
	}
	// The other host gets no credentials, not even when it would take the
	// very same ones.
	locked := helmserver.New(t, helmserver.Options{Username: "alice", Password: canary})
	lockedDigest := locked.AddChart(t, "web", "2.0.0", nil)
	private.SetIndex(fmt.Appendf(nil, "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 2.0.0\n    digest: %s\n    urls: [%s/charts/web-2.0.0.tgz]\n",
		strings.TrimPrefix(lockedDigest, "sha256:"), locked.URL()))
	source.ExpireHelmIndexes(c)
	_, err := c.FetchChart(testContext(t), req)
	wantError(t, err, source.ErrAuth)
}

// TestHelmCancel: a caller's context ending is its own error kind.
func TestHelmCancel(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, "web", "1.0.0", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(t, nil).FetchChart(ctx, chartRequest(srv, "web", ""))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("FetchChart with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestHelmLimits: an archive past MaxCheckoutBytes, and a server slower
// than ResolveTimeout.
func TestHelmLimits(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{})
	var noise strings.Builder
	for i := range 2000 { // incompressible enough: 8 KiB of gzip at least
		fmt.Fprintf(&noise, "%x", sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
	}
	srv.AddChart(t, "web", "1.0.0", map[string]string{"noise.txt": noise.String()})
	c := newClient(t, func(o *source.Options) { o.MaxCheckoutBytes = 4 << 10 })
	_, err := c.FetchChart(testContext(t), chartRequest(srv, "web", ""))
	wantError(t, err, source.ErrTooLarge)

	slow := stalledServer(t, true)
	c = newClient(t, func(o *source.Options) { o.ResolveTimeout = time.Second })
	start := time.Now()
	_, err = c.ResolveChart(testContext(t), source.ChartRequest{RepoURL: slow.URL, Chart: "web",
		Credentials: &source.Credentials{CACert: redirectorCA(slow)}})
	wantError(t, err, source.ErrTimeout)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("a 1s time limit took %s", d)
	}
}

// TestHelmChartRedirectedToCDN: a repository that redirects its archives
// to another host (a CDN, an object store) works with credentials; the
// other host never sees them, and what it serves is checked against the
// index's digest.
func TestHelmChartRedirectedToCDN(t *testing.T) {
	archive := helmserver.Archive(t, map[string]string{"web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n"})
	sum := sha256.Sum256(archive)
	var sawAuth atomic.Bool
	var served atomic.Int32
	tampered := atomic.Bool{}
	cdn := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Store(true)
		}
		served.Add(1)
		if tampered.Load() {
			_, _ = w.Write(append(archive[:len(archive):len(archive)], 0))
			return
		}
		_, _ = w.Write(archive)
	}))
	t.Cleanup(cdn.Close)
	index := fmt.Sprintf("apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    digest: %x\n    urls: [charts/web-1.0.0.tgz]\n", sum)
	repo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "alice" || pass != canary {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/index.yaml":
			_, _ = io.WriteString(w, index)
		case "/charts/web-1.0.0.tgz":
			http.Redirect(w, r, cdn.URL+"/blobs/web.tgz", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(repo.Close)
	req := source.ChartRequest{RepoURL: repo.URL, Chart: "web",
		Credentials: &source.Credentials{Username: "alice", Password: canary, CACert: redirectorCA(repo)}}

	c := newClient(t, nil)
	if art := fetchChart(t, c, req); art.Commit != fmt.Sprintf("sha256:%x", sum) {
		t.Errorf("Commit = %s, want the index's digest", art.Commit)
	}
	if served.Load() != 1 || sawAuth.Load() {
		t.Errorf("the CDN served %d times, saw credentials: %v; want once, without", served.Load(), sawAuth.Load())
	}
	tampered.Store(true)
	_, err := newClient(t, nil).FetchChart(testContext(t), req)
	wantError(t, err, source.ErrRegistry)
}
