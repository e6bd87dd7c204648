package importer

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Write prints the converted manifests, then the summary as comments, so
// the whole output can be reviewed, kept and applied as one file.
func (r *Result) Write(w io.Writer) error {
	if len(r.Documents) > 0 {
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		for _, d := range r.Documents {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, r.Summary())
	return err
}

// Summary counts what was converted and lists, as YAML comments, what was
// refused and what needs a person's decision.
func (r *Result) Summary() string {
	var b strings.Builder
	b.WriteString("# Summary: " + r.counts() + ".\n")
	if len(r.Refused) > 0 {
		b.WriteString("# Not converted:\n")
		for _, f := range r.Refused {
			fmt.Fprintf(&b, "#   - %s: %s\n", f.Object, f.Reason)
		}
	}
	if len(r.Decisions) > 0 {
		b.WriteString("# Needs a human decision:\n")
		for _, d := range r.Decisions {
			fmt.Fprintf(&b, "#   - %s\n", d)
		}
	}
	return b.String()
}

func (r *Result) counts() string {
	n := map[string]int{}
	for _, k := range r.Kinds {
		n[k]++
	}
	kinds := make([]string, 0, len(n))
	for k := range n {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		name := k
		if n[k] != 1 {
			name += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n[k], name))
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing")
	}
	return fmt.Sprintf("converted %s; %d not converted", strings.Join(parts, ", "), len(r.Refused))
}

// mapping is an ordered YAML mapping under construction; empty values are
// left out, so the output holds only what the input asked for.
type mapping struct{ node *yaml.Node }

func newMapping() *mapping { return &mapping{node: &yaml.Node{Kind: yaml.MappingNode}} }

// set adds key: v unless v is empty, and returns the key's node (nil when
// left out) so a comment can be attached to it.
func (m *mapping) set(key string, v *yaml.Node) *yaml.Node {
	if v == nil || (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0 {
		return nil
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: key}
	m.node.Content = append(m.node.Content, k, v)
	return k
}

func (m *mapping) str(key, v string) *yaml.Node {
	if v == "" {
		return nil
	}
	return m.set(key, str(v))
}

func (m *mapping) boolean(key string, v bool) *yaml.Node {
	if !v {
		return nil
	}
	return m.set(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
}

func (m *mapping) integer(key string, v int64) *yaml.Node {
	return m.set(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)})
}

// sub adds a nested mapping, left out if it stays empty.
func (m *mapping) sub(key string, sub *mapping) *yaml.Node {
	return m.set(key, sub.node)
}

func str(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if strings.Contains(v, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func strs(v []string) *yaml.Node {
	n := seq()
	for _, s := range v {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// anyNode encodes an input value (Helm values, a label map) as YAML.
func anyNode(v any) *yaml.Node {
	if v == nil {
		return nil
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil
	}
	return &n
}

// header starts a Flotilla object: apiVersion, kind, metadata.
func header(kind, name string, labels any) *mapping {
	m := newMapping()
	m.str("apiVersion", "flotilla.dev/v1alpha1")
	m.str("kind", kind)
	meta := newMapping()
	meta.str("name", name)
	meta.str("namespace", "flotilla-system")
	if l, ok := labels.(map[string]any); ok && len(l) > 0 {
		meta.set("labels", anyNode(l))
	}
	m.sub("metadata", meta)
	return m
}

// stringsOf reads a list of strings, skipping anything else.
func stringsOf(v []any) []string {
	var out []string
	for _, e := range v {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
