package ociserver_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/flotilla-dev/flotilla/internal/ociserver"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// pull reads the manifest of ref and its one layer, unpacked.
func pull(t *testing.T, s *ociserver.Server, repo, ref string) (ocispec.Manifest, map[string]string) {
	t.Helper()
	ctx := testContext(t)
	r := s.Repository(t, repo)
	desc, err := r.Resolve(ctx, ref)
	if err != nil {
		t.Fatalf("resolve %s:%s: %v", repo, ref, err)
	}
	data, err := content.FetchAll(ctx, r, desc)
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%d layers, want 1", len(m.Layers))
	}
	layer, err := content.FetchAll(ctx, r, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	return m, untar(t, layer)
}

func untar(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = string(body)
	}
}

func TestPushArtifact(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	digest := s.PushArtifact(t, "apps/guestbook", "v1", map[string]string{"app.yaml": "replicas: 1\n", "sub/b.yaml": "b"})
	m, files := pull(t, s, "apps/guestbook", "v1")
	if m.Config.MediaType != ociserver.FluxConfigMediaType || m.Layers[0].MediaType != ociserver.FluxContentMediaType {
		t.Errorf("media types %s, %s", m.Config.MediaType, m.Layers[0].MediaType)
	}
	if m.Annotations[ocispec.AnnotationRevision] == "" {
		t.Errorf("annotations %v lack a revision", m.Annotations)
	}
	if files["app.yaml"] != "replicas: 1\n" || files["sub/b.yaml"] != "b" {
		t.Errorf("files %v", files)
	}
	s.Tag(t, "apps/guestbook", digest, "stable")
	if _, files := pull(t, s, "apps/guestbook", "stable"); len(files) != 2 {
		t.Errorf("stable: files %v", files)
	}
	if _, files := pull(t, s, "apps/guestbook", digest); len(files) != 2 {
		t.Errorf("by digest: files %v", files)
	}
}

func TestPushChart(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	s.PushChart(t, "charts", "podinfo", "1.2.3+build.1", map[string]string{"values.yaml": "a: 1\n"})
	m, files := pull(t, s, "charts/podinfo", "1.2.3_build.1")
	if m.Config.MediaType != ociserver.HelmConfigMediaType || m.Layers[0].MediaType != ociserver.HelmChartMediaType {
		t.Errorf("media types %s, %s", m.Config.MediaType, m.Layers[0].MediaType)
	}
	want := "apiVersion: v2\nname: podinfo\nversion: 1.2.3+build.1\n"
	if files["podinfo/Chart.yaml"] != want || files["podinfo/values.yaml"] != "a: 1\n" || len(files) != 2 {
		t.Errorf("files %v", files)
	}
}

func TestAuthAndCounts(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{Username: "alice", Password: "secret"})
	s.PushArtifact(t, "app", "v1", map[string]string{"a": "a"})
	before := s.Counts()
	pull(t, s, "app", "v1")
	got := s.Counts()
	if got.ManifestGets-before.ManifestGets != 1 || got.BlobGets-before.BlobGets != 1 {
		t.Errorf("counts after one pull: %+v, before %+v", got, before)
	}

	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, "https://"+s.Host()+"/v2/app/tags/list", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", "wrong")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig(t, s)}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong password: %d %v", resp.StatusCode, resp.Header)
	}
	if s.Counts().Unauthorized == 0 {
		t.Error("no unauthorized request counted")
	}
}

func TestPushRawAndLayer(t *testing.T) {
	s := ociserver.New(t, ociserver.Options{})
	layer := []byte("not even gzip")
	digest := s.PushLayer(t, "hostile", "v1", ociserver.FluxConfigMediaType, ociserver.FluxContentMediaType, layer)
	ctx := testContext(t)
	r := s.Repository(t, "hostile")
	desc, err := r.Resolve(ctx, "v1")
	if err != nil || desc.Digest.String() != digest {
		t.Fatalf("resolve: %v, %v", desc, err)
	}

	// A manifest that names a blob the registry does not have.
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	d := s.PushRaw(t, "hostile", "", manifest)
	if _, err := r.Resolve(ctx, d); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, "missing")
	var resp *errcode.ErrorResponse
	if err == nil || errors.As(err, &resp) && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing tag: %v", err)
	}
}

func tlsConfig(t *testing.T, s *ociserver.Server) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACert()) {
		t.Fatal("CACert holds no certificate")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
