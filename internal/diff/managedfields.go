package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// ownedFields returns the fields that the given managers own in the live
// object (a JSON tree), from its metadata.managedFields: the union of the
// fieldsV1 sets of every entry of those managers, whatever its operation,
// apiVersion or subresource. It returns nil when no manager is given or
// they own nothing.
func ownedFields(live map[string]any, managers map[string]bool) (*fieldpath.Set, error) {
	if len(managers) == 0 || live == nil {
		return nil, nil
	}
	md, _ := live["metadata"].(map[string]any)
	raw, ok := md["managedFields"]
	if !ok || raw == nil {
		return nil, nil
	}
	entries, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a list", ErrManagedFields)
	}
	var owned *fieldpath.Set
	for i, e := range entries {
		set, err := entryFields(e, managers)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrManagedFields, i, err)
		}
		if set == nil {
			continue
		}
		if owned == nil {
			owned = set
		} else {
			owned = owned.Union(set)
		}
	}
	return owned, nil
}

// entryFields returns the fields of one managedFields entry, or nil when
// the entry is not of one of the managers or owns nothing. Its errors never
// quote the entry: they only say what is wrong with it.
func entryFields(e any, managers map[string]bool) (*fieldpath.Set, error) {
	entry, ok := e.(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	manager, _ := entry["manager"].(string)
	if !managers[manager] {
		return nil, nil
	}
	fields, ok := entry["fieldsV1"]
	if !ok || fields == nil {
		return nil, nil
	}
	if t, _ := entry["fieldsType"].(string); t != "FieldsV1" {
		return nil, errors.New("fieldsType is not FieldsV1")
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, errors.New("fieldsV1 cannot be encoded")
	}
	set := &fieldpath.Set{}
	if err := set.FromJSON(bytes.NewReader(b)); err != nil {
		// The parser's message quotes the input; it is left out.
		return nil, errors.New("fieldsV1 is not a field set")
	}
	return set, nil
}

// removeOwned removes from obj every field of set that is a leaf (not
// also the parent of other fields of set): a field, or a list element
// selected by its key fields, its value or its index. Objects and lists
// left empty by a removal go too, as with remove.
func removeOwned(obj map[string]any, set *fieldpath.Set) {
	if set == nil || obj == nil {
		return
	}
	removeSet(obj, set)
}

// removeSet removes set from node and returns node (changed in place, or a
// shorter list) and whether anything was removed. Every target is found
// before anything is removed, so that removing an element's key fields, or
// an element before another, does not lose the next target.
func removeSet(node any, set *fieldpath.Set) (any, bool) {
	whole := map[any]bool{}            // map keys and list indices to remove
	subs := map[any][]*fieldpath.Set{} // to remove from inside them
	set.Children.Iterate(func(pe fieldpath.PathElement) {
		if at, ok := locate(node, pe); ok {
			sub, _ := set.Children.Get(pe)
			subs[at] = append(subs[at], sub)
		}
	})
	set.Members.Iterate(func(pe fieldpath.PathElement) {
		if _, parent := set.Children.Get(pe); parent {
			return
		}
		if at, ok := locate(node, pe); ok {
			whole[at] = true
		}
	})
	if len(whole) == 0 && len(subs) == 0 {
		return node, false
	}
	switch n := node.(type) {
	case map[string]any:
		for k := range n {
			if whole[k] || removeInside(n[k], subs[k], func(v any) { n[k] = v }) {
				delete(n, k)
			}
		}
	case []any:
		for i := len(n) - 1; i >= 0; i-- {
			if whole[i] || removeInside(n[i], subs[i], func(v any) { n[i] = v }) {
				n = slices.Delete(n, i, i+1)
			}
		}
		return n, true
	}
	return node, true
}

// removeInside removes each of subs from v, stores the result with set,
// and says whether v is to go: something was removed and nothing is left.
func removeInside(v any, subs []*fieldpath.Set, set func(any)) bool {
	removed := false
	for _, sub := range subs {
		var r bool
		v, r = removeSet(v, sub)
		removed = removed || r
	}
	set(v)
	return removed && isEmpty(v)
}

// locate finds what pe selects in node: a key of an object (a string) or
// an index of a list (an int).
func locate(node any, pe fieldpath.PathElement) (any, bool) {
	if pe.FieldName != nil {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		_, ok = m[*pe.FieldName]
		return *pe.FieldName, ok
	}
	l, ok := node.([]any)
	if !ok {
		return nil, false
	}
	idx := findElement(l, pe)
	return idx, idx >= 0
}

// findElement returns the index of the element of l that pe selects, or -1.
func findElement(l []any, pe fieldpath.PathElement) int {
	switch {
	case pe.Index != nil:
		if *pe.Index >= 0 && *pe.Index < len(l) {
			return *pe.Index
		}
	case pe.Value != nil:
		want, ok := jsonOf(*pe.Value)
		if !ok {
			return -1
		}
		return slices.IndexFunc(l, func(e any) bool { return equal(e, want) })
	case pe.Key != nil:
		return slices.IndexFunc(l, func(e any) bool { return hasKey(e, *pe.Key) })
	}
	return -1
}

// hasKey says whether e is an object whose fields include every key field.
func hasKey(e any, key value.FieldList) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	for _, f := range key {
		got, ok := m[f.Name]
		if !ok {
			return false
		}
		want, ok := jsonOf(f.Value)
		if !ok || !equal(got, want) {
			return false
		}
	}
	return true
}

// jsonOf turns a structured-merge-diff value into a JSON tree.
func jsonOf(v value.Value) (any, bool) {
	b, err := value.ToJSON(v)
	if err != nil {
		return nil, false
	}
	t, err := decodeJSON(b)
	return t, err == nil
}
