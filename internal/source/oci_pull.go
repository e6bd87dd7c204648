package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// pullOCI fetches the manifest desc names, checks it is of the kind asked
// for, and unpacks its one layer into dir. It runs within FetchTimeout.
// What the registry sends is checked against the digests that name it:
// the manifest before it is read, the layer before the unpacked tree is
// moved to dir.
func (c *Client) pullOCI(ctx context.Context, r *ociRepo, kind ociKind, desc ocispec.Descriptor, dir string) (int64, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.FetchTimeout, errOCITimeout)
	defer cancel()
	layer, err := r.layer(ctx, kind, desc)
	if err != nil {
		return 0, r.failure(ctx, err)
	}
	if layer.Size > c.opts.MaxCheckoutBytes {
		return 0, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the layer is %d bytes, more than %d", layer.Size, c.opts.MaxCheckoutBytes)}
	}
	stage, err := os.MkdirTemp(c.tmp, "oci-")
	if err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot make a staging folder", cause: err}
	}
	defer func() { _ = os.RemoveAll(stage) }()
	tree := filepath.Join(stage, "tree")
	if err := os.Mkdir(tree, 0o700); err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot make a staging folder", cause: err}
	}
	size, err := c.unpackLayer(ctx, r, kind, layer, tree)
	if err != nil {
		return 0, r.failure(ctx, err)
	}
	if err := os.Rename(tree, dir); err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot move the unpacked layer into the cache", cause: err}
	}
	c.opts.Logger.Info("fetched", "url", r.raw, "digest", desc.Digest.String(), "bytes", size, "duration", time.Since(start))
	return size, nil
}

// layer fetches and checks the manifest and returns the descriptor of the
// one layer to unpack.
func (r *ociRepo) layer(ctx context.Context, kind ociKind, desc ocispec.Descriptor) (ocispec.Descriptor, error) {
	// FetchAll reads no more than desc.Size and checks the digest.
	data, err := content.FetchAll(ctx, r.repo, desc)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return ocispec.Descriptor{}, &Error{Kind: ErrRegistry, Detail: "the manifest is not valid JSON"}
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Descriptor{}, &Error{Kind: ErrRegistry, Detail: fmt.Sprintf("the manifest says it is %s, not an OCI image manifest", mediaTypeName(m.MediaType))}
	}
	if m.Config.MediaType != kind.config {
		return ocispec.Descriptor{}, &Error{Kind: ErrRegistry, Detail: fmt.Sprintf("the config is %s, not %q: %s", mediaTypeName(m.Config.MediaType), kind.config, kind.wrongConfig(m.Config.MediaType))}
	}
	var found []ocispec.Descriptor
	for _, l := range m.Layers {
		if slices.Contains(kind.layers, l.MediaType) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return ocispec.Descriptor{}, &Error{Kind: ErrRegistry, Detail: fmt.Sprintf("the manifest has %d layers of type %q, want one", len(found), kind.layers)}
	}
	return found[0], nil
}

// wrongConfig explains a config of another kind.
func (k ociKind) wrongConfig(mt string) string {
	switch {
	case mt == helmConfigMediaType:
		return "this is a Helm chart; give it as a chart"
	case mt == fluxConfigMediaType:
		return "this is an artifact of flux push artifact, not a Helm chart"
	case k.chart != "":
		return "this is not a Helm chart"
	}
	return "push it with flux push artifact"
}

// unpackLayer downloads layer and unpacks it into tree, checking its size
// and digest as it streams.
func (c *Client) unpackLayer(ctx context.Context, r *ociRepo, kind ociKind, layer ocispec.Descriptor, tree string) (int64, error) {
	rc, err := r.repo.Fetch(ctx, layer)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rc.Close() }()
	vr := content.NewVerifyReader(rc, layer)
	lim := archiveLimits{MaxBytes: c.opts.MaxCheckoutBytes, MaxFiles: c.opts.MaxCheckoutFiles}
	var size int64
	if kind.chart != "" {
		size, err = untarChart(vr, tree, kind.chart, lim)
	} else {
		size, err = untarGzip(vr, tree, lim)
	}
	if err != nil {
		return 0, err
	}
	// The tar stream may end before the blob does (gzip's trailer,
	// padding): the rest is read so that the whole blob is checked.
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return 0, err
	}
	if err := vr.Verify(); err != nil {
		return 0, err
	}
	return size, nil
}

// errOCIContent marks content that does not match its descriptor.
var errOCIContent = []error{content.ErrMismatchedDigest, content.ErrTrailingData, content.ErrInvalidDescriptorSize, io.ErrUnexpectedEOF}

func isOCIContentError(err error) bool {
	for _, target := range errOCIContent {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
