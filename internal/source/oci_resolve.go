package source

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// ociTagRE is a tag as the distribution spec allows it.
var ociTagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// resolveOCI returns the manifest a revision names, asking the registry
// with the request's credentials: a digest as it is, a tag, or else a
// semver range over the tags. It runs within ResolveTimeout.
func (c *Client) resolveOCI(ctx context.Context, r *ociRepo, kind ociKind, revision string) (Revision, ocispec.Descriptor, error) {
	if err := checkRevision(revision); err != nil {
		return Revision{}, ocispec.Descriptor{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.ResolveTimeout, errOCITimeout)
	defer cancel()
	rev, desc, err := r.resolve(ctx, kind, revision)
	if err != nil {
		return Revision{}, ocispec.Descriptor{}, r.failure(ctx, err)
	}
	return rev, desc, nil
}

func (r *ociRepo) resolve(ctx context.Context, kind ociKind, revision string) (Revision, ocispec.Descriptor, error) {
	if strings.Contains(revision, ":") {
		d, err := digest.Parse(revision)
		if err != nil {
			return Revision{}, ocispec.Descriptor{}, &Error{Kind: ErrInvalidRevision, Detail: "neither a tag, a semver range nor a valid digest"}
		}
		desc, err := r.manifest(ctx, d.String())
		return Revision{Commit: d.String()}, desc, err
	}
	if revision == "" && kind.latest != "" {
		revision = kind.latest
	}
	constraint, semverErr := semver.NewConstraint(revision)
	if revision == "" {
		constraint, semverErr = semver.NewConstraint("*")
	}
	if tag := kind.toTag(revision); revision != "" && ociTagRE.MatchString(tag) {
		desc, err := r.manifest(ctx, tag)
		switch {
		case err == nil:
			return Revision{Ref: kind.toVersion(tag), Commit: desc.Digest.String()}, desc, nil
		case !errors.Is(err, ErrRevisionNotFound) || semverErr != nil:
			return Revision{}, ocispec.Descriptor{}, err
		}
	} else if semverErr != nil {
		return Revision{}, ocispec.Descriptor{}, &Error{Kind: ErrInvalidRevision, Detail: "neither a tag, a semver range nor a digest"}
	}
	tag, err := r.highestTag(ctx, kind, constraint)
	if err != nil {
		return Revision{}, ocispec.Descriptor{}, err
	}
	desc, err := r.manifest(ctx, tag)
	if err != nil {
		return Revision{}, ocispec.Descriptor{}, err
	}
	return Revision{Ref: kind.toVersion(tag), Commit: desc.Digest.String()}, desc, nil
}

// manifest resolves a tag or digest to the descriptor of its manifest (a
// HEAD request) and checks that it is an image manifest of bounded size.
func (r *ociRepo) manifest(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	desc, err := r.repo.Resolve(ctx, reference)
	if errors.Is(err, errdef.ErrNotFound) {
		return ocispec.Descriptor{}, revisionNotFound("no manifest of that tag or digest")
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	switch {
	case desc.MediaType != ocispec.MediaTypeImageManifest:
		return ocispec.Descriptor{}, &Error{Kind: ErrRegistry, Detail: fmt.Sprintf("the manifest is %s, not an OCI image manifest", mediaTypeName(desc.MediaType))}
	case desc.Size > maxOCIManifestBytes:
		return ocispec.Descriptor{}, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the manifest passes %d bytes", maxOCIManifestBytes)}
	}
	return desc, nil
}

// highestTag lists the repository's tags and returns the one of the highest
// version that meets the constraint. Pre-releases match only ranges that
// name one, as Masterminds' semver decides; among tags of equal version
// ("1.0.0", "v1.0.0") the first by name wins, so the answer does not
// depend on the listing's order.
func (r *ociRepo) highestTag(ctx context.Context, kind ociKind, constraint *semver.Constraints) (string, error) {
	var (
		best        string
		bestVersion *semver.Version
	)
	err := r.repo.Tags(ctx, "", func(tags []string) error {
		for _, tag := range tags {
			v, err := semver.NewVersion(kind.toVersion(tag))
			if err != nil || !constraint.Check(v) {
				continue
			}
			if bestVersion == nil || v.GreaterThan(bestVersion) || v.Equal(bestVersion) && tag < best {
				best, bestVersion = tag, v
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errdef.ErrTooManyPages):
		return "", &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the tag listing passes %d pages", maxOCITagPages)}
	case err != nil:
		return "", err
	case best == "":
		return "", revisionNotFound("no tag of that name, and no tag in that semver range")
	}
	return best, nil
}

func (k ociKind) toTag(version string) string {
	if k.tag == nil {
		return version
	}
	return k.tag(version)
}

func (k ociKind) toVersion(tag string) string {
	if k.version == nil {
		return tag
	}
	return k.version(tag)
}

// mediaTypeName quotes a media type from a registry for an error, bounded.
func mediaTypeName(mt string) string {
	if mt == "" {
		return "of no media type"
	}
	return fmt.Sprintf("%q", shortName(mt))
}
