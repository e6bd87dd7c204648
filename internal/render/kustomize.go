package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// renderKustomize builds the kustomization in the folder dir (a repository
// path without links; shown is how the request named it). It returns the
// objects and the warnings of the build (deprecated fields in use).
// fetched are the charts the caller fetched for helmCharts entries that the
// repository does not vendor.
func renderKustomize(ctx context.Context, t *tree, dir, shown string, ko KustomizeOptions, fetched []FetchedChart) ([]*unstructured.Unstructured, []string, error) {
	overrides := map[string][]byte{}
	if !ko.empty() {
		name, data, err := editKustomization(t, dir, ko)
		if err != nil {
			return nil, nil, err
		}
		overrides[path.Join(dir, name)] = data
	}
	start := *t.b
	run := func(exclusive bool) (resmap.ResMap, *kustomizeFS, error) {
		*t.b = start // a repeated run is charged afresh
		kfs := &kustomizeFS{ctx: ctx, t: t, overrides: overrides, exclusive: exclusive, fetched: fetched}
		m, err := runKrusty(kfs, path.Join(mount, dir), krusty.ReorderOptionUnspecified, exclusive)
		return m, kfs, err
	}
	m, kfs, err := run(false)
	if kfs.needsExclusive {
		m, kfs, err = run(true)
	}
	if kfs.violation != nil {
		return nil, nil, kfs.violation
	}
	if err != nil {
		return nil, nil, kustomizeError(shown, err)
	}
	objs, err := resmapObjects(ctx, m, shown, t.b)
	return objs, kfs.warnings, err
}

// kustomizePlain applies KustomizeOptions to the objects of a plain folder,
// through a kustomization made in memory; kustomize reads nothing else.
func kustomizePlain(ctx context.Context, objs []*unstructured.Unstructured, shown string, ko KustomizeOptions, b *budget) ([]*unstructured.Unstructured, error) {
	var stream bytes.Buffer
	for _, u := range objs {
		data, err := json.Marshal(u.Object)
		if err != nil {
			return nil, newError(ErrMalformed, orDot(shown), "object %s cannot be encoded: %v", keyOf(u), err)
		}
		stream.WriteString("---\n")
		stream.Write(data)
		stream.WriteString("\n")
	}
	k := map[string]any{
		"apiVersion": types.KustomizationVersion,
		"kind":       types.KustomizationKind,
		"resources":  []any{"objects.yaml"},
	}
	applyKustomizeOptions(k, ko)
	kdata, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	fs := filesys.MakeFsInMemory()
	if err := fs.WriteFile("/plain/objects.yaml", stream.Bytes()); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("/plain/kustomization.yaml", kdata); err != nil {
		return nil, err
	}
	m, err := runKrusty(fs, "/plain", krusty.ReorderOptionNone, false)
	if err != nil {
		return nil, kustomizeError(shown, err)
	}
	b.objects = 0 // the input was counted; count the output
	return resmapObjects(ctx, m, shown, b)
}

// runKrusty runs kustomize in-process: loads confined by the file system
// (LoadRestrictionsNone lets a kustomization use any file of the
// repository, which kustomizeFS keeps it in), builtin plugins only (no exec,
// Go or container plugins, no Helm: kustomizeFS inflates helmCharts), and a
// panic turned into an error. A run alone has its stderr quieted (see
// quietStderr).
func runKrusty(fs filesys.FileSystem, dir string, order krusty.ReorderOption, exclusive bool) (m resmap.ResMap, err error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.Reorder = order
	opts.AddManagedbyLabel = false
	build := func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("kustomize stopped unexpectedly: %v", p)
			}
		}()
		m, err = krusty.MakeKustomizer(opts).Run(fs, dir)
	}
	if exclusive {
		kustomizeSchema.exclusive(func() { quietStderr(build) })
	} else {
		kustomizeSchema.shared(build)
	}
	return m, err
}

// resmapObjects converts kustomize's output into objects, checked like the
// objects of a plain folder.
func resmapObjects(ctx context.Context, m resmap.ResMap, shown string, b *budget) ([]*unstructured.Unstructured, error) {
	file := orDot(shown)
	resources := m.Resources()
	if err := b.takeObjects(file, 0, len(resources)); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(resources))
	for i, r := range resources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		objs, err := resourceObjects(r.MarshalJSON, b)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, newError(e.Kind, file, "object %d of the kustomize output: %s", i+1, e.Msg)
			}
			return nil, newError(ErrMalformed, file, "object %d of the kustomize output: %v", i+1, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

func resourceObjects(marshal func() ([]byte, error), b *budget) ([]*unstructured.Unstructured, error) {
	data, err := marshal()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	v, err := normalizeJSON(raw, 0, b.opts.MaxDepth)
	if err != nil {
		return nil, convToError(err, "", 0)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("it is %s, not an object", typeName(v))
	}
	return objectsOf("", 0, obj)
}

// editKustomization returns the kustomization file of dir with the
// KustomizeOptions applied, as `kustomize edit` would write it.
func editKustomization(t *tree, dir string, ko KustomizeOptions) (string, []byte, error) {
	for _, name := range kustomizationNames {
		rel := path.Join(dir, name)
		if _, _, err := t.resolve(rel); errors.Is(err, ErrNotFound) {
			continue
		}
		data, err := t.readFile(rel)
		if err != nil {
			return "", nil, err
		}
		k := map[string]any{}
		err = decodeManifests(data, rel, false, t.b, func(doc int, m map[string]any) error {
			if doc == 1 {
				k = m
			}
			return nil
		})
		if err != nil {
			return "", nil, err
		}
		applyKustomizeOptions(k, ko)
		out, err := json.Marshal(k) // JSON is YAML to kustomize
		return name, out, err
	}
	return "", nil, newError(ErrNotFound, orDot(dir), "has no kustomization file")
}

// applyKustomizeOptions sets namePrefix, sets images (replacing an entry of
// the same name) and appends patches, as Argo CD's kustomize options do.
func applyKustomizeOptions(k map[string]any, ko KustomizeOptions) {
	if ko.NamePrefix != "" {
		k["namePrefix"] = ko.NamePrefix
	}
	if len(ko.Images) > 0 {
		images, _ := k["images"].([]any)
		for _, img := range ko.Images {
			images = setImage(images, img)
		}
		k["images"] = images
	}
	if len(ko.Patches) > 0 {
		patches, _ := k["patches"].([]any)
		for _, p := range ko.Patches {
			patches = append(patches, p.entry())
		}
		k["patches"] = patches
	}
}

func setImage(images []any, img Image) []any {
	for i, e := range images {
		if m, ok := e.(map[string]any); ok && m["name"] == img.Name {
			images[i] = img.entry()
			return images
		}
	}
	return append(images, img.entry())
}

func (img Image) entry() map[string]any {
	e := map[string]any{"name": img.Name}
	for k, v := range map[string]string{"newName": img.NewName, "newTag": img.NewTag, "digest": img.Digest} {
		if v != "" {
			e[k] = v
		}
	}
	return e
}

func (p Patch) entry() map[string]any {
	e := map[string]any{"patch": p.Patch}
	if s := p.Target; s != nil {
		target := map[string]any{}
		for k, v := range map[string]string{
			"group": s.Group, "version": s.Version, "kind": s.Kind, "name": s.Name,
			"namespace": s.Namespace, "labelSelector": s.LabelSelector, "annotationSelector": s.AnnotationSelector,
		} {
			if v != "" {
				target[k] = v
			}
		}
		e["target"] = target
	}
	return e
}

// mountPath matches the mount in kustomize's messages (but not "/repository").
var mountPath = regexp.MustCompile(regexp.QuoteMeta(mount) + `(/|\b)`)

// kustomizeError wraps a kustomize failure, its paths made relative to the
// repository.
func kustomizeError(shown string, err error) error {
	msg := mountPath.ReplaceAllStringFunc(err.Error(), func(m string) string {
		if m == mount+"/" {
			return ""
		}
		return "."
	})
	return newError(ErrMalformed, orDot(shown), "kustomize build failed: %s", msg)
}
