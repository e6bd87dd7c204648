package install

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/flotilla-dev/flotilla/internal/version"
)

// imageRef is the controller's image as kustomize's images field wants it:
// a name and either a tag or a digest.
func imageRef(image string) (map[string]any, error) {
	if image == "" {
		image = DefaultImage + ":" + defaultTag()
	}
	ref, err := name.ParseReference(image, name.WithDefaultTag(defaultTag()))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"name": DefaultImage, "newName": ref.Context().Name()}
	switch r := ref.(type) {
	case name.Digest:
		out["digest"] = r.DigestStr()
	case name.Tag:
		out["newTag"] = r.TagStr()
	}
	return out, nil
}

// defaultTag is the image tag of this binary's version; a development
// build installs "latest".
func defaultTag() string {
	v := version.Version
	if v == "" || v == "dev" || strings.HasSuffix(v, "-dirty") {
		return "latest"
	}
	return v
}

// DefaultImageRef is the image of this binary's version, as the installed
// controller and a pull agent's manifests name it.
func DefaultImageRef() string { return DefaultImage + ":" + defaultTag() }
