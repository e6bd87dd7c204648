package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

// The objects are compared as JSON trees: map[string]any, []any, string,
// json.Number, bool and nil, as canonical decodes them. Every tree this
// package works on is its own copy; the caller's objects are never touched.

// canonical returns a deep copy of obj as a JSON tree. Going through JSON
// accepts whatever the caller's object holds that JSON can encode (int as
// well as int64, typed slices) and makes numbers comparable: int64(3) and
// float64(3) both become json.Number("3").
func canonical(obj map[string]any) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// equal says whether two JSON trees are equal. Numbers are equal when their
// values are, whatever their spelling ("1" and "1.0").
func equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, equal)
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	case string, bool, nil:
		return a == b
	}
	return false
}

func numbersEqual(x, y json.Number) bool {
	if x == y {
		return true
	}
	if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
		if j, err := strconv.ParseInt(string(y), 10, 64); err == nil {
			return i == j
		}
	}
	f, err1 := strconv.ParseFloat(string(x), 64)
	g, err2 := strconv.ParseFloat(string(y), 64)
	return err1 == nil && err2 == nil && f == g
}

// step finds one child of a JSON object or array: a key of an object (index
// -1) or an index of an array, and whether it is there.
type step func(node any) (key string, index int, ok bool)

// remove deletes what steps lead to from node, if it is there, and returns
// node (changed in place, or a shorter array) and whether anything was
// removed. An object or array that the removal leaves empty is removed from
// its parent too, so that ignoring the only annotation of one side does not
// leave "annotations: {}" behind as a difference. Zero steps remove nothing:
// the root itself is never removed.
func remove(node any, steps []step) (any, bool) {
	if len(steps) == 0 {
		return node, false
	}
	key, idx, ok := steps[0](node)
	if !ok {
		return node, false
	}
	if m, isMap := node.(map[string]any); isMap && idx < 0 {
		if len(steps) == 1 {
			delete(m, key)
			return m, true
		}
		child, removed := remove(m[key], steps[1:])
		if !removed {
			return m, false
		}
		if isEmpty(child) {
			delete(m, key)
		} else {
			m[key] = child
		}
		return m, true
	}
	l, isList := node.([]any)
	if !isList || idx < 0 || idx >= len(l) {
		return node, false
	}
	if len(steps) == 1 {
		return slices.Delete(l, idx, idx+1), true
	}
	child, removed := remove(l[idx], steps[1:])
	if !removed {
		return l, false
	}
	if isEmpty(child) {
		return slices.Delete(l, idx, idx+1), true
	}
	l[idx] = child
	return l, true
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// changedPaths lists, as JSON pointers in document order, where desired
// and live differ: a key or an array element present on one side only, or a
// value that differs. Arrays are compared element by element; the extra
// elements of the longer one are listed one by one.
func changedPaths(live, desired any) []string {
	var out []string
	collectPaths(Pointer{}, live, desired, &out)
	return out
}

func collectPaths(at Pointer, live, desired any, out *[]string) {
	lm, lok := live.(map[string]any)
	dm, dok := desired.(map[string]any)
	if lok && dok {
		for _, k := range unionKeys(lm, dm) {
			lv, inL := lm[k]
			dv, inD := dm[k]
			child := append(at[:len(at):len(at)], k)
			if inL && inD {
				collectPaths(child, lv, dv, out)
			} else {
				*out = append(*out, child.String())
			}
		}
		return
	}
	ll, lok := live.([]any)
	dl, dok := desired.([]any)
	if lok && dok {
		for i := range max(len(ll), len(dl)) {
			child := append(at[:len(at):len(at)], strconv.Itoa(i))
			if i < len(ll) && i < len(dl) {
				collectPaths(child, ll[i], dl[i], out)
			} else {
				*out = append(*out, child.String())
			}
		}
		return
	}
	if !equal(live, desired) {
		*out = append(*out, at.String())
	}
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
