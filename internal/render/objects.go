package render

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/hook"
)

// objectsOf turns one document into objects: the document itself, or the
// items of a List (any kind ending in "List" whose items is a list, as kubectl
// reads them). Every object needs apiVersion, kind and metadata.name; a hook
// may have metadata.generateName instead.
func objectsOf(file string, doc int, m map[string]any) ([]*unstructured.Unstructured, error) {
	items, isList := listItems(m)
	if !isList {
		if why := missingField(m); why != "" {
			return nil, docError(ErrMalformed, file, doc, "the object "+why)
		}
		return []*unstructured.Unstructured{{Object: m}}, nil
	}
	out := make([]*unstructured.Unstructured, 0, len(items))
	for i, item := range items {
		im, ok := item.(map[string]any)
		if !ok {
			return nil, docError(ErrMalformed, file, doc, fmt.Sprintf("item %d of the list is %s, not an object", i+1, typeName(item)))
		}
		if _, nested := listItems(im); nested {
			return nil, docError(ErrMalformed, file, doc, fmt.Sprintf("item %d of the list is itself a list", i+1))
		}
		if why := missingField(im); why != "" {
			return nil, docError(ErrMalformed, file, doc, fmt.Sprintf("item %d of the list %s", i+1, why))
		}
		out = append(out, &unstructured.Unstructured{Object: im})
	}
	return out, nil
}

func listItems(m map[string]any) ([]any, bool) {
	kind, _ := m["kind"].(string)
	if !strings.HasSuffix(kind, "List") {
		return nil, false
	}
	items, present := m["items"]
	if kind == "List" && (!present || items == nil) {
		return nil, true
	}
	list, ok := items.([]any)
	return list, ok
}

// missingField says what required field an object lacks, or "".
func missingField(m map[string]any) string {
	for _, f := range []string{"apiVersion", "kind"} {
		switch v := m[f].(type) {
		case string:
			if v == "" {
				return "has an empty " + f
			}
		case nil:
			return "has no " + f
		default:
			return "has a " + f + " that is not a string"
		}
	}
	meta, ok := m["metadata"].(map[string]any)
	if !ok {
		return "has no metadata.name"
	}
	if name, _ := meta["name"].(string); name != "" {
		return ""
	}
	if gen, _ := meta["generateName"].(string); gen != "" {
		if hook.IsHook(&unstructured.Unstructured{Object: m}) {
			return ""
		}
		return "has metadata.generateName but no metadata.name: only hooks (PreSync, PostSync and SyncFail objects; see docs/hooks.md) may have a generated name, as an ordinary object could never be found again"
	}
	return "has no metadata.name"
}

// objectKey identifies an object the way the API server does; the version
// is left out, as two versions of one kind name the same object.
type objectKey struct {
	group, kind, namespace, name string
}

// keyOf names a hook with a generated name by its prefix, marked so that it
// cannot be taken for a name.
func keyOf(u *unstructured.Unstructured) objectKey {
	name := u.GetName()
	if name == "" {
		name = u.GetGenerateName() + "*"
	}
	return objectKey{u.GroupVersionKind().Group, u.GetKind(), u.GetNamespace(), name}
}

func (k objectKey) String() string {
	kind := k.kind
	if k.group != "" {
		kind += "." + k.group
	}
	if k.namespace == "" {
		return kind + " " + k.name
	}
	return kind + " " + k.namespace + "/" + k.name
}

// duplicates remembers where each object was defined, to refuse a second
// definition: applying both would let the last one win silently.
type duplicates map[objectKey]string

func (d duplicates) add(u *unstructured.Unstructured, file string, doc int) error {
	k := keyOf(u)
	where := fmt.Sprintf("%s (document %d)", displayName(file), doc)
	if first, seen := d[k]; seen {
		return docError(ErrMalformed, file, doc, fmt.Sprintf("%s is already defined in %s", k, first))
	}
	d[k] = where
	return nil
}

// cloneObjects deep-copies objects, so that no caller can change what
// another caller, or the cache, holds.
func cloneObjects(in []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(in))
	for i, u := range in {
		out[i] = u.DeepCopy()
	}
	return out
}
