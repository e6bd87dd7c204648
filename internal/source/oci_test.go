package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/ociserver"
	"github.com/flotilla-dev/flotilla/internal/signtest"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// trusting returns credentials that trust the registry's certificate and
// nothing more.
func trusting(s *ociserver.Server) *source.Credentials {
	return &source.Credentials{CACert: s.CACert()}
}

func fetchOCI(t *testing.T, c *source.Client, req source.OCIRequest) *source.Artifact {
	t.Helper()
	art, err := c.FetchOCI(testContext(t), req)
	if err != nil {
		t.Fatalf("FetchOCI(%s, %q): %v", req.URL, req.Revision, err)
	}
	t.Cleanup(art.Release)
	return art
}

var guestbook = map[string]string{"app.yaml": "replicas: 3\n", "config/env.yaml": "env: prod\n"}

func TestFetchOCI(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	url := s.URL("apps/guestbook")
	digest := s.PushArtifact(t, "apps/guestbook", "v1.0.0", guestbook)
	s.Tag(t, "apps/guestbook", digest, "latest")
	c := newClient(t, nil)

	tests := []struct {
		name, revision, wantRef string
	}{
		{name: "tag", revision: "v1.0.0", wantRef: "v1.0.0"},
		{name: "latest", revision: "", wantRef: "latest"},
		{name: "digest", revision: digest, wantRef: ""},
		{name: "semver range", revision: "~1.0", wantRef: "v1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			art := fetchOCI(t, c, source.OCIRequest{URL: url, Revision: tt.revision, Credentials: trusting(s)})
			if art.Ref != tt.wantRef || art.Commit != digest || art.URL != url || art.Revision != tt.revision {
				t.Errorf("artifact %s %q → ref %q commit %s, want ref %q commit %s", art.URL, art.Revision, art.Ref, art.Commit, tt.wantRef, digest)
			}
			if diff := cmp.Diff(guestbook, readTree(t, art.Dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if art.Size != int64(len("replicas: 3\n")+len("env: prod\n")) {
				t.Errorf("size %d", art.Size)
			}
			rev, err := c.ResolveOCI(testContext(t), source.OCIRequest{URL: url, Revision: tt.revision, Credentials: trusting(s)})
			if err != nil || rev.Ref != tt.wantRef || rev.Commit != digest {
				t.Errorf("ResolveOCI = %+v, %v", rev, err)
			}
		})
	}
	// Every revision named the same manifest: one download, one folder.
	if got := s.Counts().BlobGets; got != 1 {
		t.Errorf("%d blob downloads, want 1", got)
	}
	if got := c.CacheStats().Checkouts; got != 1 {
		t.Errorf("%d cached artifacts, want 1", got)
	}
}

func TestFetchOCIReadOnly(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushArtifact(t, "app", "v1", guestbook)
	art := fetchOCI(t, newClient(t, nil), source.OCIRequest{URL: s.URL("app"), Revision: "v1", Credentials: trusting(s)})
	for _, name := range []string{"app.yaml", "config/env.yaml"} {
		info, err := os.Stat(filepath.Join(art.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable: %v", name, info.Mode())
		}
	}
}

func TestFetchOCISemverPicksUpNewTags(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushArtifact(t, "app", "1.0.0", map[string]string{"v": "1.0.0"})
	s.PushArtifact(t, "app", "v1.1.0", map[string]string{"v": "1.1.0"})
	s.PushArtifact(t, "app", "2.0.0", map[string]string{"v": "2.0.0"})
	s.PushArtifact(t, "app", "1.5.0-rc.1", map[string]string{"v": "1.5.0-rc.1"})
	s.PushArtifact(t, "app", "main-abc123", map[string]string{"v": "branch"})
	c := newClient(t, nil)
	req := source.OCIRequest{URL: s.URL("app"), Revision: ">=1.0.0 <2.0.0", Credentials: trusting(s)}

	art := fetchOCI(t, c, req)
	if art.Ref != "v1.1.0" || readTree(t, art.Dir)["v"] != "1.1.0" {
		t.Fatalf("ref %q, files %v", art.Ref, readTree(t, art.Dir))
	}
	s.PushArtifact(t, "app", "1.2.0", map[string]string{"v": "1.2.0"})
	art = fetchOCI(t, c, req)
	if art.Ref != "1.2.0" || readTree(t, art.Dir)["v"] != "1.2.0" {
		t.Fatalf("after a new tag: ref %q, files %v", art.Ref, readTree(t, art.Dir))
	}
}

func TestFetchOCIConcurrentShareOneDownload(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushArtifact(t, "app", "v1", guestbook)
	c := newClient(t, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			art, err := c.FetchOCI(testContext(t), source.OCIRequest{URL: s.URL("app"), Revision: "v1", Credentials: trusting(s)})
			if err != nil {
				t.Error(err)
				return
			}
			art.Release()
		})
	}
	wg.Wait()
	if got := s.Counts().BlobGets; got != 1 {
		t.Errorf("%d blob downloads, want 1", got)
	}
}

func TestFetchOCIAuth(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{Username: "alice", Password: canary})
	s.PushArtifact(t, "private/app", "v1", guestbook)
	c := newClient(t, nil)
	url := s.URL("private/app")

	art := fetchOCI(t, c, source.OCIRequest{URL: url, Revision: "v1",
		Credentials: &source.Credentials{Username: "alice", Password: canary, CACert: s.CACert()}})
	if diff := cmp.Diff(guestbook, readTree(t, art.Dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	for name, creds := range map[string]*source.Credentials{
		"wrong password": {Username: "alice", Password: canary + "-wrong", CACert: s.CACert()},
		"none":           trusting(s),
		"bearer token":   {BearerToken: canary, CACert: s.CACert()},
	} {
		t.Run(name, func(t *testing.T) {
			// The artifact is cached, but a caller who cannot read the
			// repository does not get it.
			_, err := c.FetchOCI(testContext(t), source.OCIRequest{URL: url, Revision: "v1", Credentials: creds})
			wantError(t, err, source.ErrAuth)
			_, err = c.ResolveOCI(testContext(t), source.OCIRequest{URL: url, Revision: ">=1.0.0", Credentials: creds})
			wantError(t, err, source.ErrAuth)
		})
	}
}

func TestFetchOCIErrors(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushArtifact(t, "app", "v1", guestbook)
	chart := s.PushChart(t, "charts", "podinfo", "1.0.0", nil)
	c := newClient(t, nil)

	tests := []struct {
		name string
		req  source.OCIRequest
		want error
	}{
		{name: "unknown tag", req: source.OCIRequest{URL: s.URL("app"), Revision: "v9"}, want: source.ErrRevisionNotFound},
		{name: "no tag in range", req: source.OCIRequest{URL: s.URL("app"), Revision: ">=5.0.0"}, want: source.ErrRevisionNotFound},
		{name: "unknown digest", req: source.OCIRequest{URL: s.URL("app"), Revision: "sha256:" + strings.Repeat("0", 64)}, want: source.ErrRevisionNotFound},
		{name: "bad digest", req: source.OCIRequest{URL: s.URL("app"), Revision: "sha256:xyz"}, want: source.ErrInvalidRevision},
		{name: "bad revision", req: source.OCIRequest{URL: s.URL("app"), Revision: "v1\n"}, want: source.ErrInvalidRevision},
		{name: "unknown repository", req: source.OCIRequest{URL: s.URL("nothing"), Revision: ">=1.0.0"}, want: source.ErrRepositoryNotFound},
		{name: "a chart is no artifact", req: source.OCIRequest{URL: s.URL("charts/podinfo"), Revision: chart}, want: source.ErrRegistry},
		{name: "ssh cannot verify", req: source.OCIRequest{URL: s.URL("app"), Revision: "v1", Verify: &source.Verification{Provider: source.VerifySSH}}, want: source.ErrProviderMismatch},
		{name: "untrusted certificate", req: source.OCIRequest{URL: s.URL("app"), Revision: "v1", Credentials: &source.Credentials{}}, want: source.ErrHostVerification},
		{name: "https URL", req: source.OCIRequest{URL: "https://" + s.Host() + "/app"}, want: source.ErrInvalidURL},
		{name: "credentials in URL", req: source.OCIRequest{URL: "oci://alice:" + canary + "@" + s.Host() + "/app"}, want: source.ErrInvalidURL},
		{name: "tag in URL", req: source.OCIRequest{URL: s.URL("app:v1")}, want: source.ErrInvalidURL},
		{name: "upper-case repository", req: source.OCIRequest{URL: s.URL("App")}, want: source.ErrInvalidURL},
		{name: "no repository", req: source.OCIRequest{URL: "oci://" + s.Host()}, want: source.ErrInvalidURL},
		{name: "query", req: source.OCIRequest{URL: s.URL("app?x=1")}, want: source.ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Credentials == nil {
				tt.req.Credentials = trusting(s)
			}
			_, err := c.FetchOCI(testContext(t), tt.req)
			wantError(t, err, tt.want)
		})
	}
}

func TestFetchOCITimeout(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushArtifact(t, "app", "v1", guestbook)
	c := newClient(t, func(o *source.Options) { o.ResolveTimeout = time.Nanosecond })
	_, err := c.FetchOCI(testContext(t), source.OCIRequest{URL: s.URL("app"), Revision: "v1", Credentials: trusting(s)})
	wantError(t, err, source.ErrTimeout)

	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	_, err = newClient(t, nil).FetchOCI(ctx, source.OCIRequest{URL: s.URL("app"), Revision: "v1", Credentials: trusting(s)})
	wantError(t, err, context.Canceled)
}

// hostile pushes a Flux artifact whose layer is the archive given.
func hostile(t *testing.T, s *ociserver.Server, tag string, layer []byte) {
	t.Helper()
	s.PushLayer(t, "hostile", tag, ociserver.FluxConfigMediaType, ociserver.FluxContentMediaType, layer)
}

func TestFetchOCIUnsafeLayer(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	hostile(t, s, "dotdot", tarGzip(t, &tar.Header{Name: "../../escaped", Typeflag: tar.TypeReg, Size: 1}, "x"))
	hostile(t, s, "symlink", tarGzip(t, &tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, ""))
	hostile(t, s, "bomb", gzipZeros(t, 8<<20))
	hostile(t, s, "garbage", []byte("not gzip at all"))
	cacheDir := t.TempDir()
	c := newClient(t, func(o *source.Options) {
		o.CacheDir = cacheDir
		o.MaxCheckoutBytes = 1 << 20
	})
	for _, tag := range []string{"dotdot", "symlink", "bomb", "garbage"} {
		t.Run(tag, func(t *testing.T) {
			_, err := c.FetchOCI(testContext(t), source.OCIRequest{URL: s.URL("hostile"), Revision: tag, Credentials: trusting(s)})
			wantError(t, err, source.ErrUnsafeArchive)
		})
	}
	if st := c.CacheStats(); st.Checkouts != 0 || st.Bytes != 0 {
		t.Errorf("cache holds %+v after refused archives", st)
	}
	for _, d := range []string{"checkouts", "tmp"} {
		if entries, err := os.ReadDir(filepath.Join(cacheDir, d)); err != nil || len(entries) != 0 {
			t.Errorf("%s holds %v (%v)", d, entries, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cacheDir, "escaped")); err == nil {
		t.Error("an entry escaped the cache")
	}
}

func TestFetchOCILayerTooLarge(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushArtifact(t, "app", "compressible", map[string]string{"big": strings.Repeat("0123456789abcdef", 1<<12)})
	random := make([]byte, 32<<10)
	_, _ = rand.Read(random)
	s.PushArtifact(t, "app", "incompressible", map[string]string{"big": hex.EncodeToString(random)})
	c := newClient(t, func(o *source.Options) { o.MaxCheckoutBytes = 16 << 10 })

	// The layer is larger than the bound: it is not downloaded.
	before := s.Counts().BlobGets
	_, err := c.FetchOCI(testContext(t), source.OCIRequest{URL: s.URL("app"), Revision: "incompressible", Credentials: trusting(s)})
	wantError(t, err, source.ErrTooLarge)
	if got := s.Counts().BlobGets - before; got != 0 {
		t.Errorf("%d blob downloads of a layer too large", got)
	}
	// The layer compresses below the bound; its content does not.
	_, err = c.FetchOCI(testContext(t), source.OCIRequest{URL: s.URL("app"), Revision: "compressible", Credentials: trusting(s)})
	wantError(t, err, source.ErrUnsafeArchive)
}

func TestFetchOCIChart(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	for _, v := range []string{"1.0.0", "1.1.0", "1.1.5+build.7", "2.0.0-rc.1", "0.9.0"} {
		s.PushChart(t, "charts", "podinfo", v, map[string]string{"values.yaml": "version: " + v + "\n"})
	}
	c := newClient(t, nil)
	tests := []struct{ version, want string }{
		{version: "~1.1", want: "1.1.5+build.7"},
		{version: ">=1.0.0 <1.1.0", want: "1.0.0"},
		{version: "1.1.5+build.7", want: "1.1.5+build.7"},
		{version: "0.9.0", want: "0.9.0"},
		{version: "", want: "1.1.5+build.7"},
		{version: ">=2.0.0-0", want: "2.0.0-rc.1"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			req := source.ChartRequest{RepoURL: s.URL("charts"), Chart: "podinfo", Version: tt.version, Credentials: trusting(s)}
			art, err := c.FetchChart(testContext(t), req)
			if err != nil {
				t.Fatalf("FetchChart: %v", err)
			}
			defer art.Release()
			if art.Ref != tt.want || !strings.HasPrefix(art.Commit, "sha256:") || art.URL != req.RepoURL {
				t.Errorf("url %s ref %q commit %q, want ref %q", art.URL, art.Ref, art.Commit, tt.want)
			}
			rev, err := c.ResolveChart(testContext(t), req)
			if err != nil || rev.Ref != art.Ref || rev.Commit != art.Commit {
				t.Errorf("ResolveChart = %+v, %v; FetchChart gave %q %s", rev, err, art.Ref, art.Commit)
			}
			files := readTree(t, art.Dir)
			if files["podinfo/values.yaml"] != "version: "+tt.want+"\n" || files["podinfo/Chart.yaml"] == "" {
				t.Errorf("files %v", files)
			}
		})
	}
}

func TestFetchOCIChartErrors(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushChart(t, "charts", "podinfo", "1.0.0", nil)
	s.PushArtifact(t, "charts/artifact", "1.0.0", guestbook)
	// A chart archive whose folder names another chart.
	s.PushLayer(t, "charts/renamed", "1.0.0", ociserver.HelmConfigMediaType, ociserver.HelmChartMediaType,
		ociserver.TarGzip(t, map[string]string{"other/Chart.yaml": "name: other\n"}))
	c := newClient(t, nil)
	tests := []struct {
		chart, version string
		want           error
	}{
		{chart: "podinfo", version: "2.x", want: source.ErrRevisionNotFound},
		{chart: "renamed", version: "1.0.0", want: source.ErrUnsafeArchive},
		{chart: "artifact", version: "1.0.0", want: source.ErrRegistry},
		{chart: "../podinfo", version: "1.0.0", want: source.ErrInvalidURL},
		{chart: "nothing", version: ">=1.0.0", want: source.ErrRepositoryNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.chart, func(t *testing.T) {
			_, err := c.FetchChart(testContext(t), source.ChartRequest{RepoURL: s.URL("charts"), Chart: tt.chart, Version: tt.version, Credentials: trusting(s)})
			wantError(t, err, tt.want)
		})
	}
}

// tarGzip packs one entry as tar+gzip.
func tarGzip(t *testing.T, hdr *tar.Header, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if hdr.Mode == 0 {
		hdr.Mode = 0o644
	}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipZeros is a gzip bomb: n bytes of zeros in one file, a few KiB
// compressed.
func gzipZeros(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// TestFetchOCIVerifiesOnce: the resync of a verified revision asks the
// registry only what an unverified fetch asks (the tag, with the caller's
// credentials); its signatures are read again only for other trusted keys.
func TestFetchOCIVerifiesOnce(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	signed := s.PushArtifact(t, "signed", "v1", map[string]string{"a.yaml": "a: 1\n"})
	s.PushArtifact(t, "plain", "v1", map[string]string{"a.yaml": "a: 1\n"})
	key, pub := signtest.NewCosignKey(t)
	_, otherPub := signtest.NewCosignKey(t)
	signtest.CosignSign(t, signtest.Registry{Host: s.Host(), CACert: s.CACert()}, "signed", signed, key)
	c := newClient(t, nil)
	creds := &source.Credentials{CACert: s.CACert()}
	verify := &source.Verification{Provider: source.VerifyCosign, Keys: [][]byte{pub}}
	requests := func(req source.OCIRequest) int64 {
		before := s.Counts().Requests
		fetchOCI(t, c, req).Release()
		return s.Counts().Requests - before
	}

	first := requests(source.OCIRequest{URL: s.URL("signed"), Revision: "v1", Credentials: creds, Verify: verify})
	again := requests(source.OCIRequest{URL: s.URL("signed"), Revision: "v1", Credentials: creds, Verify: verify})
	requests(source.OCIRequest{URL: s.URL("plain"), Revision: "v1", Credentials: creds})
	plain := requests(source.OCIRequest{URL: s.URL("plain"), Revision: "v1", Credentials: creds})
	if again != plain || again >= first {
		t.Errorf("requests: first verified fetch %d, again %d, a cached unverified fetch %d; want again = unverified < first", first, again, plain)
	}
	// Other trusted keys: checked again (and refused).
	_, err := c.FetchOCI(testContext(t), source.OCIRequest{URL: s.URL("signed"), Revision: "v1", Credentials: creds,
		Verify: &source.Verification{Provider: source.VerifyCosign, Keys: [][]byte{otherPub}}})
	wantError(t, err, source.ErrUnverified)
}
