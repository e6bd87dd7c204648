package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kind says how a source path was rendered.
type Kind string

const (
	// KindPlain: a folder of YAML and JSON manifests (or one manifest file).
	KindPlain Kind = "plain"
	// KindKustomize: a folder with a kustomization file.
	KindKustomize Kind = "kustomize"
	// KindHelm: a folder with a Chart.yaml, rendered as Helm templates.
	KindHelm Kind = "helm"
)

// Request says what to render.
type Request struct {
	// Root is the checked-out source folder. It is only read.
	Root string
	// Path is the folder (or file) to render, relative to Root, with "/"
	// between folders; "" or "." is Root itself.
	Path string
	// Revision identifies the content of Root: the same Revision must always
	// mean the same files (a commit SHA or an artifact digest, qualified by
	// the repository when two repositories could share one). It keys the
	// render cache; empty means "do not cache". Root itself is not part of
	// the key, so that every checkout of a revision shares one render.
	Revision string
	// Kustomize mirrors an Application's spec.source.kustomize.
	Kustomize KustomizeOptions
	// Helm are the inputs of a Helm chart's render (see HelmOptions).
	Helm HelmOptions
	// Decryption holds the keys of SOPS-encrypted files; nil: none, and an
	// encrypted file is an error (ErrDecryption). They are hashed into the
	// render cache's key, so a request never gets a render decrypted with
	// other keys.
	Decryption *Decryption
}

// KustomizeOptions change the kustomization at Path in memory, as `kustomize
// edit` would; on a plain folder they apply through a kustomization made for
// it.
type KustomizeOptions struct {
	// NamePrefix replaces the kustomization's namePrefix.
	NamePrefix string
	// Images set image names, tags or digests; an entry for the same Name
	// in the kustomization is replaced.
	Images []Image
	// Patches are appended to the kustomization's patches.
	Patches []Patch
}

func (o KustomizeOptions) empty() bool {
	return o.NamePrefix == "" && len(o.Images) == 0 && len(o.Patches) == 0
}

// Image is one entry of a kustomization's images.
type Image struct {
	Name    string
	NewName string
	NewTag  string
	Digest  string
}

// Patch is one entry of a kustomization's patches, given inline: a strategic
// merge patch or a JSON 6902 patch, applied to the objects Target selects
// (or, without Target, to the object the patch itself names).
type Patch struct {
	Patch  string
	Target *Selector
}

// Selector selects objects for a Patch; empty fields match anything.
type Selector struct {
	Group              string
	Version            string
	Kind               string
	Name               string
	Namespace          string
	LabelSelector      string
	AnnotationSelector string
}

// Result is what a render produced.
type Result struct {
	Kind Kind
	// Objects in a deterministic order: for a plain folder, by file path then
	// by position in the file; for a kustomization, kustomize's order; for a
	// Helm chart, its CRDs, then Helm's install order of kinds. Each
	// Result holds its own copies: changing them changes no other Result.
	Objects []*unstructured.Unstructured
	// Warnings are what the render calls for without failing, each naming
	// its file: a kustomization's deprecated fields, which kustomize would
	// otherwise print to the process's stderr.
	Warnings []string
}

func (r *Result) clone() *Result {
	return &Result{Kind: r.Kind, Objects: cloneObjects(r.Objects), Warnings: slices.Clone(r.Warnings)}
}

// Renderer renders source paths into objects and keeps recent results. It is
// safe for concurrent use.
type Renderer struct {
	opts  Options
	cache *cache
	slots chan struct{} // one per render running (Options.MaxConcurrent)
	deps  dependencyLists
}

// New returns a Renderer with the given limits; zero fields take the values
// of DefaultOptions.
func New(opts Options) *Renderer {
	opts = opts.withDefaults()
	return &Renderer{opts: opts, cache: newCache(opts.CacheEntries, opts.CacheBytes), slots: make(chan struct{}, opts.MaxConcurrent)}
}

// Stats reports what the cache did so far.
func (r *Renderer) Stats() Stats { return r.cache.snapshot() }

// Render produces the objects that the source at req.Path asks for. The
// request is checked before anything is read; errors about the source are
// *Error values naming the file, matched with errors.Is against the Err…
// sentinels. When ctx ends, Render returns ctx.Err().
func (r *Renderer) Render(ctx context.Context, req Request) (*Result, error) {
	rel, err := cleanRequestPath(req.Path)
	if err != nil {
		return nil, err
	}
	if err := r.checkKustomizeOptions(req.Kustomize); err != nil {
		return nil, err
	}
	if err := r.checkHelmOptions(rel, req.Helm); err != nil {
		return nil, err
	}
	keys, err := parseDecryption(req.Decryption)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	render := func(ctx context.Context) (*Result, error) {
		return r.render(ctx, req.Root, rel, req.Kustomize, req.Helm, keys)
	}
	if req.Revision == "" || r.opts.CacheEntries < 0 {
		r.cache.countRender()
		return render(ctx)
	}
	helmKey, err := r.helmKey(req.Root, rel, req.Helm)
	if err != nil {
		return nil, err
	}
	key, err := cacheKey(req.Revision, rel, req.Kustomize, helmKey, keys.cacheKeyPart())
	if err != nil {
		return nil, err
	}
	return r.cache.get(ctx, key, render)
}

func (r *Renderer) render(ctx context.Context, root, rel string, ko KustomizeOptions, ho HelmOptions, keys *keyring) (*Result, error) {
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b := newBudget(r.opts)
	t, err := openTree(root, b)
	if err != nil {
		return nil, err
	}
	defer t.close()
	t.keys = keys
	real, fi, err := t.resolve(rel)
	if err != nil {
		return nil, err
	}
	kind, err := detectKind(t, real, fi)
	if err != nil {
		return nil, err
	}
	if kind != KindHelm && ho.hasValues() {
		return nil, newError(ErrMalformed, orDot(rel), "is not a Helm chart (it has no Chart.yaml), yet Helm values or value files are given")
	}
	var objs []*unstructured.Unstructured
	var warnings []string
	switch kind {
	case KindKustomize:
		objs, warnings, err = renderKustomize(ctx, t, real, rel, ko, ho.Dependencies)
	case KindHelm:
		objs, err = renderHelm(ctx, t, real, rel, ho)
	default:
		objs, err = renderPlain(ctx, t, rel)
	}
	if err == nil && kind != KindKustomize && !ko.empty() {
		objs, err = kustomizePlain(ctx, objs, rel, ko, b)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Kind: kind, Objects: objs, Warnings: warnings}, nil
}

// detectKind: a folder holding a Chart.yaml is a Helm chart, one holding a
// kustomization file a kustomization, anything else is plain.
func detectKind(t *tree, real string, fi fs.FileInfo) (Kind, error) {
	if !fi.IsDir() {
		return KindPlain, nil
	}
	if ok, err := hasFile(t, path.Join(real, chartFile)); ok || err != nil {
		return KindHelm, err
	}
	for _, name := range kustomizationNames {
		if ok, err := hasFile(t, path.Join(real, name)); ok || err != nil {
			return KindKustomize, err
		}
	}
	return KindPlain, nil
}

// hasFile reports whether rel is a file (or a link to one in the tree).
func hasFile(t *tree, rel string) (bool, error) {
	_, fi, err := t.resolve(rel)
	switch {
	case err == nil:
		return !fi.IsDir(), nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// detect opens the tree just to tell the kind of rel.
func (r *Renderer) detect(root, rel string) (Kind, error) {
	t, err := openTree(root, newBudget(r.opts))
	if err != nil {
		return "", err
	}
	defer t.close()
	real, fi, err := t.resolve(rel)
	if err != nil {
		return "", err
	}
	return detectKind(t, real, fi)
}

// checkKustomizeOptions refuses options that cannot work, before any read.
func (r *Renderer) checkKustomizeOptions(ko KustomizeOptions) error {
	for i, img := range ko.Images {
		if img.Name == "" {
			return &Error{Kind: ErrMalformed, Msg: fmt.Sprintf("kustomize image %d has no name", i+1)}
		}
	}
	b := newBudget(r.opts)
	for i, p := range ko.Patches {
		field := fmt.Sprintf("kustomize patch %d", i+1)
		switch {
		case p.Patch == "":
			return &Error{Kind: ErrMalformed, Msg: field + " is empty"}
		case int64(len(p.Patch)) > r.opts.MaxFileBytes:
			return &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("%s is over the %s limit for one file", field, sizeText(r.opts.MaxFileBytes))}
		}
		if err := checkYAML(field, []byte(p.Patch), b); err != nil {
			return err
		}
	}
	return nil
}

// cacheKey hashes what a render depends on besides the files; keys is the
// hash of the decryption keys ("" for none).
func cacheKey(revision, rel string, ko KustomizeOptions, ho HelmOptions, keys string) (string, error) {
	data, err := json.Marshal(struct {
		Revision   string
		Path       string
		Kustomize  KustomizeOptions
		Helm       HelmOptions
		Decryption string
	}{revision, rel, ko, ho, keys})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
