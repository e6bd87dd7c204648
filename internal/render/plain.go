package render

import (
	"context"
	"io/fs"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// isManifest says whether a plain folder's file is read: YAML or JSON.
func isManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// renderPlain reads the manifests of a plain folder (recursively, hidden
// entries skipped, in the order of their paths) or of a single file.
func renderPlain(ctx context.Context, t *tree, rel string) ([]*unstructured.Unstructured, error) {
	files, err := listManifests(ctx, t, rel)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	dups := duplicates{}
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := decodeFile(ctx, t, file, dups, &objs); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// decodeFile reads a manifest file whole (it is within MaxFileBytes) so that
// a SOPS-encrypted one can be decrypted before it is parsed.
func decodeFile(ctx context.Context, t *tree, file string, dups duplicates, out *[]*unstructured.Unstructured) error {
	data, err := t.readFile(file)
	if err != nil {
		return err
	}
	if data, err = t.decrypt(file, data); err != nil {
		return err
	}
	asJSON := strings.EqualFold(path.Ext(file), ".json")
	return decodeManifests(data, file, asJSON, t.b, func(doc int, m map[string]any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		objs, err := objectsOf(file, doc, m)
		if err != nil {
			return err
		}
		if err := t.b.takeObjects(file, doc, len(objs)); err != nil {
			return err
		}
		for _, u := range objs {
			if err := dups.add(u, file, doc); err != nil {
				return err
			}
		}
		*out = append(*out, objs...)
		return nil
	})
}

// listManifests returns the manifest files under rel, sorted by path. A
// symbolic link is followed when it stays in the repository (a folder is
// walked once however many links lead to it) and refused when it does not,
// whatever its name: the walk cannot tell a folder from a file without
// resolving the link.
func listManifests(ctx context.Context, t *tree, rel string) ([]string, error) {
	real, fi, err := t.resolve(rel)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		return []string{rel}, nil
	}
	if !fi.IsDir() {
		return nil, newError(ErrMalformed, orDot(rel), "is neither a folder nor a file")
	}
	w := walker{ctx: ctx, t: t, visited: map[string]bool{}}
	if err := w.walk(real, rel); err != nil {
		return nil, err
	}
	sort.Strings(w.files)
	return w.files, nil
}

type walker struct {
	ctx     context.Context
	t       *tree
	visited map[string]bool
	files   []string
}

// walk lists the folder at real (a path without links), shown to people
// as shown.
func (w *walker) walk(real, shown string) error {
	if w.visited[real] {
		return nil
	}
	w.visited[real] = true
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := w.t.readDir(real, orDot(shown))
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if err := w.entry(e, path.Join(real, name), path.Join(shown, name)); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) entry(e fs.DirEntry, real, shown string) error {
	mode := e.Type()
	if mode&fs.ModeSymlink != 0 {
		target, fi, err := w.t.resolve(real)
		if err != nil {
			return err
		}
		mode = fi.Mode()
		real = target
	}
	switch {
	case mode.IsDir():
		return w.walk(real, shown)
	case mode.IsRegular() && isManifest(shown):
		w.files = append(w.files, shown)
	}
	return nil
}
