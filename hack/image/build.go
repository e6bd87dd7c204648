package main

import (
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: not root, with a home of its own (ssh and git want one).
const (
	uid  = 65532
	home = "/home/nonroot"
	// binPath is where the flotilla binary lives in the image.
	binPath = "/usr/local/bin/flotilla"
)

type platformInput struct {
	Arch     string // amd64, arm64
	RootFS   string // the Debian packages, extracted
	Binary   string // flotilla for this platform
	Packages string // Package, Version, Architecture per line, tab-separated
}

type buildOptions struct {
	Out       string
	Version   string
	Commit    string
	Created   time.Time
	Platforms []platformInput
}

// build writes a multi-platform image index as an OCI layout at opts.Out,
// and the SBOM beside it.
func build(opts buildOptions) error {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range opts.Platforms {
		img, err := platformImage(opts, p)
		if err != nil {
			return fmt.Errorf("linux/%s: %w", p.Arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: p.Arch}},
		})
	}
	if err := os.RemoveAll(opts.Out); err != nil {
		return err
	}
	// The layout's index.json names one manifest: the multi-platform
	// index, tagged with the version.
	p, err := layout.Write(opts.Out, empty.Index)
	if err != nil {
		return fmt.Errorf("write the layout: %w", err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": opts.Version,
	})); err != nil {
		return fmt.Errorf("write the layout: %w", err)
	}
	return writeSBOM(opts)
}

// platformImage is two layers, the base and the binary, with a config that
// runs flotilla as the non-root user.
func platformImage(opts buildOptions, p platformInput) (v1.Image, error) {
	base, err := dirLayer(p.RootFS, opts.Created, baseExtras(p.RootFS))
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	bin, err := os.ReadFile(p.Binary)
	if err != nil {
		return nil, err
	}
	app, err := filesLayer(opts.Created, []extraFile{{Path: binPath, Mode: 0o755, Data: bin}})
	if err != nil {
		return nil, fmt.Errorf("binary layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, base, app)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", p.Arch
	cfg.Created = v1.Time{Time: opts.Created}
	cfg.Config = v1.Config{
		Entrypoint: []string{binPath},
		Cmd:        []string{"controller"},
		User:       fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir: home,
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"HOME=" + home,
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "flotilla",
			"org.opencontainers.image.description": "GitOps for fleets of Kubernetes clusters",
			"org.opencontainers.image.version":     opts.Version,
			"org.opencontainers.image.revision":    opts.Commit,
			"org.opencontainers.image.source":      "https://github.com/flotilla-dev/flotilla",
			"org.opencontainers.image.created":     opts.Created.Format(time.RFC3339),
			"org.opencontainers.image.licenses":    "Apache-2.0",
		},
	}
	return mutate.ConfigFile(img, cfg)
}
