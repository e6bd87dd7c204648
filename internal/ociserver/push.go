package ociserver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// Media types of the content pushed, as Flux and Helm write them.
const (
	FluxConfigMediaType  = "application/vnd.cncf.flux.config.v1+json"
	FluxContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	HelmConfigMediaType  = "application/vnd.cncf.helm.config.v1+json"
	HelmChartMediaType   = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// pushTimeout bounds one helper's pushes.
const pushTimeout = 30 * time.Second

// PushArtifact pushes files (path → content) as `flux push artifact` does
// and tags the manifest; it returns the manifest's digest.
func (s *Server) PushArtifact(t testing.TB, repo, tag string, files map[string]string) string {
	t.Helper()
	annotations := map[string]string{
		ocispec.AnnotationCreated:  "2024-01-01T00:00:00Z",
		ocispec.AnnotationSource:   "https://github.com/flotilla-dev/example",
		ocispec.AnnotationRevision: "main@sha1:0123456789abcdef0123456789abcdef01234567",
	}
	return s.push(t, repo, tag, FluxConfigMediaType, []byte("{}"), FluxContentMediaType, TarGzip(t, files), annotations)
}

// PushChart pushes a Helm chart as `helm push` does: files (paths inside
// the chart's folder) packed as chartName/…, at repo/chartName tagged with
// version, '+' turned into '_'. A Chart.yaml is added when files has none.
// It returns the manifest's digest.
func (s *Server) PushChart(t testing.TB, repo, chartName, version string, files map[string]string) string {
	t.Helper()
	packed := map[string]string{}
	for name, body := range files {
		packed[chartName+"/"+name] = body
	}
	if _, ok := files["Chart.yaml"]; !ok {
		packed[chartName+"/Chart.yaml"] = "apiVersion: v2\nname: " + chartName + "\nversion: " + version + "\n"
	}
	config, err := json.Marshal(map[string]string{"apiVersion": "v2", "name": chartName, "version": version})
	if err != nil {
		t.Fatal(err)
	}
	annotations := map[string]string{
		ocispec.AnnotationTitle:   chartName,
		ocispec.AnnotationVersion: version,
		ocispec.AnnotationCreated: "2024-01-01T00:00:00Z",
	}
	tag := strings.ReplaceAll(version, "+", "_")
	return s.push(t, strings.TrimSuffix(repo, "/")+"/"+chartName, tag, HelmConfigMediaType, config, HelmChartMediaType, TarGzip(t, packed), annotations)
}

// PushLayer pushes a manifest of one config `{}` of configType and one
// layer, the bytes given, of layerType, and tags it. It returns the
// manifest's digest. Tests use it to push hostile layers.
func (s *Server) PushLayer(t testing.TB, repo, tag, configType, layerType string, layer []byte) string {
	t.Helper()
	return s.push(t, repo, tag, configType, []byte("{}"), layerType, layer, nil)
}

// PushRaw pushes blobs as they are, then manifest under tag (or by digest
// when tag is empty) with the media type its "mediaType" field names
// (an OCI image manifest when it names none). It returns the manifest's
// digest.
func (s *Server) PushRaw(t testing.TB, repo, tag string, manifest []byte, blobs ...[]byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	r := s.Repository(t, repo)
	for _, b := range blobs {
		if err := r.Push(ctx, content.NewDescriptorFromBytes("application/octet-stream", b), bytes.NewReader(b)); err != nil {
			t.Fatalf("ociserver: push blob to %s: %v", repo, err)
		}
	}
	var head struct {
		MediaType string `json:"mediaType"`
	}
	_ = json.Unmarshal(manifest, &head)
	if head.MediaType == "" {
		head.MediaType = ocispec.MediaTypeImageManifest
	}
	desc := content.NewDescriptorFromBytes(head.MediaType, manifest)
	ref := tag
	if ref == "" {
		ref = desc.Digest.String()
	}
	if err := r.PushReference(ctx, desc, bytes.NewReader(manifest), ref); err != nil {
		t.Fatalf("ociserver: push manifest to %s:%s: %v", repo, ref, err)
	}
	return desc.Digest.String()
}

// Tag tags the manifest of digest in repo.
func (s *Server) Tag(t testing.TB, repo, digest, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	r := s.Repository(t, repo)
	desc, err := r.Resolve(ctx, digest)
	if err != nil {
		t.Fatalf("ociserver: resolve %s@%s: %v", repo, digest, err)
	}
	if err := r.Tag(ctx, desc, tag); err != nil {
		t.Fatalf("ociserver: tag %s@%s as %s: %v", repo, digest, tag, err)
	}
}

// push pushes a config, one layer and an image manifest naming them.
func (s *Server) push(t testing.TB, repo, tag, configType string, config []byte, layerType string, layer []byte, annotations map[string]string) string {
	t.Helper()
	m := ocispec.Manifest{
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      descriptor(configType, config),
		Layers:      []ocispec.Descriptor{descriptor(layerType, layer)},
		Annotations: annotations,
	}
	m.SchemaVersion = 2
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return s.PushRaw(t, repo, tag, data, config, layer)
}

func descriptor(mediaType string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

// TarGzip packs files (path → content) as a tar+gzip stream, in the order
// of their paths, with folders made implicit and fixed times, so the same
// files always make the same bytes.
func TarGzip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body := files[name]
		hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("ociserver: tar %q: %v", name, err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatalf("ociserver: tar %q: %v", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
