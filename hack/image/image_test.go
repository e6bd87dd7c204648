//go:build image

package main

import (
	"archive/tar"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flotilla-dev/flotilla/internal/ociserver"
)

// TestImage checks the image `make image` built (IMAGE_DIR, default
// bin/image): pushed to a registry and read back, it has both platforms,
// runs flotilla as a non-root user, is labelled with its version and
// commit; the amd64 image's flotilla, git and ssh run; its SBOM lists what
// it holds. `make image-test` builds the image and runs this.
func TestImage(t *testing.T) {
	dir := os.Getenv("IMAGE_DIR")
	if dir == "" {
		dir = "../../bin/image"
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Fatalf("no image at %s (make image): %v", dir, err)
	}
	reg := ociserver.New(t, ociserver.Options{})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(reg.CACert())
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	ref := reg.Host() + "/flotilla:test"
	digest, err := push(context.Background(), dir, ref, transport)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithTransport(transport))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d.String() != digest {
		t.Errorf("the registry serves %s, pushed %s", d, digest)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	images := map[string]v1.Image{}
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		platforms = append(platforms, desc.Platform.OS+"/"+desc.Platform.Architecture)
		images[desc.Platform.Architecture] = img
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
	var version string
	for arch, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Config
		if !slices.Equal(c.Entrypoint, []string{binPath}) || c.User != "65532:65532" || cfg.Architecture != arch {
			t.Errorf("%s: entrypoint %v, user %q, architecture %s", arch, c.Entrypoint, c.User, cfg.Architecture)
		}
		version = c.Labels["org.opencontainers.image.version"]
		if version == "" || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(c.Labels["org.opencontainers.image.revision"]) {
			t.Errorf("%s: labels %v lack the version or the source commit", arch, c.Labels)
		}
	}
	// The amd64 image's root, entered with chroot as a container runtime
	// would: flotilla, git, ssh and the shell git runs GIT_SSH_COMMAND
	// with must run there, with nothing of this machine's.
	root := extract(t, images["amd64"])
	if out := inImage(t, root, binPath, "version"); !strings.Contains(out, version) {
		t.Errorf("flotilla version in the image says %q, the label %q", out, version)
	}
	if out := inImage(t, root, "/usr/bin/git", "--version"); !strings.HasPrefix(out, "git version") {
		t.Errorf("git in the image: %q", out)
	}
	if out := inImage(t, root, "/bin/sh", "-c", "ssh -V"); !strings.Contains(out, "OpenSSH") {
		t.Errorf("ssh in the image: %q", out)
	}
	for file, want := range map[string]string{
		"etc/ssl/certs/ca-certificates.crt": "BEGIN CERTIFICATE",
		"etc/passwd":                        "nonroot:x:65532:65532",
	} {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s in the image lacks %q (%v)", file, want, err)
		}
	}
	checkSBOM(t, dir)
}

func checkSBOM(t *testing.T, dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "sbom.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc spdxDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range doc.Packages {
		names[p.Name] = true
	}
	for _, want := range []string{"flotilla", "git", "openssh-client", "ca-certificates", "libc6", "k8s.io/client-go", "golang.org/toolchain"} {
		if !names[want] {
			t.Errorf("the SBOM lists no %s", want)
		}
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion %q", doc.SPDXVersion)
	}
}

// extract writes the image's files into a folder (regular files, folders
// and symbolic links; links within the folder).
func extract(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			err = os.Symlink(h.Linkname, p)
		case tar.TypeReg:
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600); err == nil {
				_, err = io.Copy(f, tr)
				_ = f.Close()
			}
		}
		if err != nil && !os.IsExist(err) {
			t.Fatalf("%s: %v", h.Name, err)
		}
	}
}

// inImage runs a command of the image with root as its root folder:
// chroot as root, and in a user namespace of its own otherwise.
func inImage(t *testing.T, root string, args ...string) string {
	t.Helper()
	// A container runtime gives the image a /dev of its own (git opens
	// /dev/null); here, this machine's is bound into a mount namespace of
	// the command's own, so nothing is left mounted after it.
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `mount --rbind /dev "$1/dev" && exec chroot "$@"`
	argv := append([]string{"unshare", "--mount", "sh", "-c", script, "sh", root}, args...)
	if os.Geteuid() != 0 {
		argv = append([]string{"unshare", "--map-root-user"}, argv[1:]...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/home/nonroot"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v in the image: %v\n%s", args, err, out)
	}
	return string(out)
}
