package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push writes the image index of an OCI layout to ref, with the
// credentials of the user's container configuration (docker login), and
// returns its digest. transport, if set, reaches the registry (tests give
// one that trusts their registry's certificate).
func push(ctx context.Context, layoutDir, ref string, transport http.RoundTripper) (string, error) {
	p, err := layout.FromPath(layoutDir)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", layoutDir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	if len(m.Manifests) != 1 {
		return "", fmt.Errorf("%s holds %d indexes, want 1", layoutDir, len(m.Manifests))
	}
	image, err := idx.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return "", err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if transport != nil {
		opts = append(opts, remote.WithTransport(transport))
	}
	if err := remote.WriteIndex(r, image, opts...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := image.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}
