package helmserver_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/helmserver"
)

// get fetches path from the server, trusting its CA, with basic
// authentication when user is set.
func get(t *testing.T, s *helmserver.Server, path, user, pass string) (int, []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACert()) {
		t.Fatal("CACert holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

type index struct {
	APIVersion string `json:"apiVersion"`
	Entries    map[string][]struct {
		Name    string   `json:"name"`
		Version string   `json:"version"`
		Digest  string   `json:"digest"`
		URLs    []string `json:"urls"`
	} `json:"entries"`
}

// TestServesChartsHelmReads adds charts, reads the index as Helm's format,
// and loads each archive it lists with Helm's own chart loader.
func TestServesChartsHelmReads(t *testing.T) {
	s := helmserver.New(t, helmserver.Options{})
	d1 := s.AddChart(t, "web", "1.0.0", map[string]string{"templates/cm.yaml": "kind: ConfigMap\n", "values.yaml": "replicas: 1\n"})
	d2 := s.AddChart(t, "web", "1.10.0", map[string]string{"values.yaml": "replicas: 2\n"})
	s.AddChart(t, "db", "0.1.0-rc.1", nil)
	if again := s.AddChart(t, "web", "1.0.0", map[string]string{"templates/cm.yaml": "kind: ConfigMap\n", "values.yaml": "replicas: 1\n"}); again != d1 {
		t.Errorf("the same files packed twice give digests %s and %s", d1, again)
	}

	code, raw := get(t, s, "/index.yaml", "", "")
	if code != http.StatusOK {
		t.Fatalf("index.yaml: HTTP %d", code)
	}
	var idx index
	if err := yaml.Unmarshal(raw, &idx); err != nil {
		t.Fatalf("index.yaml: %v\n%s", err, raw)
	}
	var got []string
	for _, name := range slices.Sorted(maps.Keys(idx.Entries)) {
		for _, v := range idx.Entries[name] {
			got = append(got, name+" "+v.Version+" "+v.URLs[0])
			code, tgz := get(t, s, "/"+v.URLs[0], "", "")
			if code != http.StatusOK {
				t.Fatalf("%s: HTTP %d", v.URLs[0], code)
			}
			sum := sha256.Sum256(tgz)
			if hex.EncodeToString(sum[:]) != v.Digest {
				t.Errorf("%s: digest %x, index says %s", v.URLs[0], sum, v.Digest)
			}
			chart, err := loader.LoadArchive(bytes.NewReader(tgz))
			if err != nil {
				t.Fatalf("helm cannot load %s: %v", v.URLs[0], err)
			}
			if chart.Name() != name || chart.Metadata.Version != v.Version {
				t.Errorf("%s holds chart %s %s", v.URLs[0], chart.Name(), chart.Metadata.Version)
			}
		}
	}
	want := []string{"db 0.1.0-rc.1 charts/db-0.1.0-rc.1.tgz", "web 1.10.0 charts/web-1.10.0.tgz", "web 1.0.0 charts/web-1.0.0.tgz"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index entries (-want +got):\n%s", diff)
	}
	if idx.APIVersion != "v1" || d2 == "" {
		t.Errorf("apiVersion %q, digest %q", idx.APIVersion, d2)
	}
}

func TestBasicAuthAndCounts(t *testing.T) {
	s := helmserver.New(t, helmserver.Options{Username: "alice", Password: "s3cret"})
	s.AddChart(t, "web", "1.0.0", nil)
	for _, tt := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"alice", "wrong", http.StatusUnauthorized},
		{"alice", "s3cret", http.StatusOK},
	} {
		if code, _ := get(t, s, "/index.yaml", tt.user, tt.pass); code != tt.want {
			t.Errorf("user %q password %q: HTTP %d, want %d", tt.user, tt.pass, code, tt.want)
		}
	}
	if code, _ := get(t, s, "/charts/nope-1.0.0.tgz", "alice", "s3cret"); code != http.StatusNotFound {
		t.Errorf("missing archive: HTTP %d, want 404", code)
	}
	want := map[string]int{"/index.yaml": 3, "/charts/nope-1.0.0.tgz": 1}
	if diff := cmp.Diff(want, s.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestHostileContent(t *testing.T) {
	s := helmserver.New(t, helmserver.Options{})
	evil := helmserver.Archive(t, map[string]string{"web/../../escape": "x"})
	digest := s.AddRawArchive("web", "6.6.6", evil)
	s.SetIndex([]byte("not: [an index"))
	if _, body := get(t, s, "/index.yaml", "", ""); string(body) != "not: [an index" {
		t.Errorf("index.yaml = %q, want the raw index", body)
	}
	if _, body := get(t, s, "/charts/web-6.6.6.tgz", "", ""); !bytes.Equal(body, evil) {
		t.Error("the raw archive was not served as added")
	}
	s.SetIndex(nil)
	if _, body := get(t, s, "/index.yaml", "", ""); !bytes.Contains(body, []byte(digest[len("sha256:"):])) {
		t.Errorf("generated index lacks the raw archive's digest:\n%s", body)
	}
	if !bytes.Equal(s.Index(t), mustGet(t, s, "/index.yaml")) {
		t.Error("Index differs from what the server serves")
	}
}

func mustGet(t *testing.T, s *helmserver.Server, path string) []byte {
	t.Helper()
	code, body := get(t, s, path, "", "")
	if code != http.StatusOK {
		t.Fatalf("%s: HTTP %d", path, code)
	}
	return body
}
