package importer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// object is one input document. Every read marks the field used, so what no
// conversion read can be named in the output as having no equivalent.
type object struct {
	apiVersion, kind, name, namespace string
	raw                               map[string]any
	used                              map[string]bool
}

// silent are fields that describe an object's life in its old cluster, not
// what it asks for; a conversion leaves them behind without a comment.
var silent = []string{
	"apiVersion", "kind", "status", "operation",
	"metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion",
	"metadata.generation", "metadata.creationTimestamp", "metadata.managedFields",
	"metadata.selfLink",
	"metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
}

func newObject(raw map[string]any) *object {
	o := &object{raw: raw, used: map[string]bool{}}
	o.apiVersion, _ = raw["apiVersion"].(string)
	o.kind, _ = raw["kind"].(string)
	if meta, ok := raw["metadata"].(map[string]any); ok {
		o.name, _ = meta["name"].(string)
		o.namespace, _ = meta["namespace"].(string)
	}
	for _, p := range silent {
		o.used[p] = true
	}
	return o
}

// ref names the object as messages do: Kind/namespace/name.
func (o *object) ref() string {
	if o.namespace == "" {
		return o.kind + "/" + o.name
	}
	return o.kind + "/" + o.namespace + "/" + o.name
}

// get returns the value at a dotted path ("spec.sources.0.path"; a number
// indexes a list) and marks it used, the whole subtree included.
func (o *object) get(path string) any {
	o.used[path] = true
	var cur any = o.raw
	for _, seg := range splitPath(path) {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// has reports whether a path is present, without marking it.
func (o *object) has(path string) bool {
	used := o.used[path]
	v := o.get(path)
	if !used {
		delete(o.used, path)
	}
	return v != nil
}

func (o *object) str(path string) string {
	switch v := o.get(path).(type) {
	case string:
		return v
	case int, int64, float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

func (o *object) boolean(path string) bool {
	v, _ := o.get(path).(bool)
	return v
}

func (o *object) list(path string) []any {
	v, _ := o.get(path).([]any)
	return v
}

// count is the length of the list at path, without marking it.
func (o *object) count(path string) int {
	used := o.used[path]
	n := len(o.list(path))
	if !used {
		delete(o.used, path)
	}
	return n
}

// leftovers names every field of the input no conversion read, at the
// highest level that holds nothing read, in the order of the input's keys
// sorted.
func (o *object) leftovers() []string {
	var out []string
	o.walk("", o.raw, &out)
	return out
}

func (o *object) walk(path string, v any, out *[]string) {
	if path != "" && o.used[path] {
		return
	}
	if path != "" && !o.usedBelow(path) {
		*out = append(*out, displayPath(path)+describe(path, v))
		return
	}
	switch c := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o.walk(join(path, k), c[k], out)
		}
	case []any:
		for i, e := range c {
			o.walk(join(path, strconv.Itoa(i)), e, out)
		}
	}
}

func (o *object) usedBelow(path string) bool {
	for p := range o.used {
		if strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

// splitPath splits a dotted path, except inside the last segment of
// metadata.annotations and metadata.labels, whose keys hold dots.
func splitPath(path string) []string {
	for _, p := range []string{"metadata.annotations.", "metadata.labels."} {
		if rest, ok := strings.CutPrefix(path, p); ok {
			return append(strings.Split(strings.TrimSuffix(p, "."), "."), rest)
		}
	}
	return strings.Split(path, ".")
}

// displayPath writes list indexes as [i]: spec.sources[0].path.
func displayPath(path string) string {
	var b strings.Builder
	for i, seg := range splitPath(path) {
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteString("[" + seg + "]")
			continue
		}
		if i > 0 {
			b.WriteString(".")
		}
		b.WriteString(seg)
	}
	return b.String()
}

// describe shows a short scalar's value; a map, a list, or anything that
// may hold a secret (values, parameters, credentials) only by its shape.
func describe(path string, v any) string {
	lower := strings.ToLower(path)
	for _, w := range []string{"value", "parameter", "secret", "password", "token", "key", "cert"} {
		if strings.Contains(lower, w) {
			return shape(v)
		}
	}
	switch c := v.(type) {
	case map[string]any, []any:
		return shape(c)
	case nil:
		return ": null"
	}
	s := fmt.Sprint(v)
	if len(s) > 60 || strings.ContainsAny(s, "\n\r") {
		return shape(v)
	}
	return ": " + s
}

func shape(v any) string {
	switch c := v.(type) {
	case map[string]any:
		return fmt.Sprintf(" (a map of %d)", len(c))
	case []any:
		return fmt.Sprintf(" (a list of %d)", len(c))
	}
	return " (set)"
}
