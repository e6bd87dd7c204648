package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// docFunc receives each non-empty document of a file, numbered from 1.
type docFunc func(doc int, obj map[string]any) error

// decodeManifests reads the YAML (or, when asJSON, JSON) documents of one
// file and calls fn for each non-empty one. Values come out as JSON-style Go
// values (map[string]any, []any, string, int64, float64, bool, nil), the
// types unstructured.Unstructured expects.
//
// The text's nodes are counted and charged to the render's budget before
// it is parsed (see budget.takeNodes); then it streams: memory follows the
// largest document, not the file. Nesting is capped by Options.MaxDepth, and
// YAML alias expansion by the budget's remaining alias values (shared by the
// whole render), so an alias bomb fails after a bounded amount of work.
func decodeManifests[T string | []byte](data T, file string, asJSON bool, b *budget, fn docFunc) (err error) {
	if err := takeNodes(b, file, data); err != nil {
		return err
	}
	r := textReader(data)
	defer func() {
		// The YAML parser reports its errors by panicking internally; should
		// a bug let one escape, it is one bad file, not a crashed process.
		if p := recover(); p != nil {
			err = newError(ErrMalformed, file, "cannot be parsed: %v", p)
		}
	}()
	if asJSON {
		return decodeJSON(r, file, b, fn)
	}
	return decodeYAML(r, file, b, fn)
}

// textReader reads a string or a byte slice without copying it.
func textReader[T string | []byte](data T) io.Reader {
	if s, ok := any(data).(string); ok {
		return strings.NewReader(s)
	}
	return bytes.NewReader(any(data).([]byte))
}

func decodeYAML(r io.Reader, file string, b *budget, fn docFunc) error {
	return eachYAMLNode(r, file, func(doc int, n *yaml.Node) error {
		c := converter{maxDepth: b.opts.MaxDepth, maxAlias: b.opts.MaxAliasNodes, aliasLeft: &b.aliasLeft}
		v, err := c.value(n, 0)
		if err != nil {
			return convToError(err, file, doc)
		}
		return emit(file, doc, v, fn)
	})
}

// eachYAMLNode parses the documents of a YAML stream one at a time and
// hands each, with its number from 1, to fn.
func eachYAMLNode(r io.Reader, file string, fn func(doc int, n *yaml.Node) error) error {
	dec := yaml.NewDecoder(r)
	for doc := 1; ; doc++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return docError(ErrMalformed, file, doc, "invalid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if err := fn(doc, &n); err != nil {
			return err
		}
	}
}

func decodeJSON(r io.Reader, file string, b *budget, fn docFunc) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for doc := 1; ; doc++ {
		var raw any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return docError(ErrMalformed, file, doc, "invalid JSON: "+err.Error())
		}
		v, err := normalizeJSON(raw, 0, b.opts.MaxDepth)
		if err != nil {
			return convToError(err, file, doc)
		}
		if err := emit(file, doc, v, fn); err != nil {
			return err
		}
	}
}

// emit skips empty documents and refuses ones that are not objects.
func emit(file string, doc int, v any, fn docFunc) error {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return fn(doc, t)
	default:
		return docError(ErrMalformed, file, doc, fmt.Sprintf("is %s, not an object", typeName(v)))
	}
}

func docError(kind error, file string, doc int, msg string) *Error {
	return &Error{File: file, Doc: doc, Kind: kind, Msg: msg}
}

// convError is a problem found while converting a document, with its line.
type convError struct {
	line int
	kind error
	msg  string
}

func (e *convError) Error() string { return e.msg }

func convToError(err error, file string, doc int) error {
	var ce *convError
	if !errors.As(err, &ce) {
		return docError(ErrMalformed, file, doc, err.Error())
	}
	if ce.line > 0 {
		return docError(ce.kind, file, doc, fmt.Sprintf("line %d: %s", ce.line, ce.msg))
	}
	return docError(ce.kind, file, doc, ce.msg)
}

// converter turns a parsed YAML document into JSON-style values.
type converter struct {
	maxDepth  int
	maxAlias  int64
	aliasLeft *int64
	// expanding is above zero while converting the target of an alias:
	// every value made then is charged to aliasLeft.
	expanding int
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	if c.expanding > 0 {
		if *c.aliasLeft <= 0 {
			return nil, &convError{n.Line, ErrTooLarge,
				fmt.Sprintf("YAML aliases expand to more than %d values", c.maxAlias)}
		}
		*c.aliasLeft--
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &convError{n.Line, ErrMalformed, "alias without an anchor"}
		}
		c.expanding++
		defer func() { c.expanding-- }()
		return c.value(n.Alias, depth)
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.MappingNode, yaml.SequenceNode:
		if depth+1 > c.maxDepth {
			return nil, &convError{n.Line, ErrTooLarge, fmt.Sprintf("nested deeper than %d levels", c.maxDepth)}
		}
		if n.Kind == yaml.MappingNode {
			return c.mapping(n, depth+1)
		}
		return c.sequence(n, depth+1)
	}
	return nil, &convError{n.Line, ErrMalformed, "unexpected YAML node"}
}

func (c *converter) sequence(n *yaml.Node, depth int) ([]any, error) {
	out := make([]any, 0, len(n.Content))
	for _, item := range n.Content {
		v, err := c.value(item, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// mapping converts a mapping. Keys given twice are an error (the document
// is ambiguous); "<<" merge keys fill in only the keys not given explicitly,
// the first merged mapping winning, as YAML 1.1 defines them.
func (c *converter) mapping(n *yaml.Node, depth int) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := mapKey(k)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, &convError{k.Line, ErrMalformed, fmt.Sprintf("key %s appears twice", quoteShort(key))}
		}
		val, err := c.value(v, depth)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	for _, m := range merges {
		if err := c.merge(out, m, depth); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *converter) merge(into map[string]any, n *yaml.Node, depth int) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias.Kind == yaml.SequenceNode {
		// "<<: *list": what the list holds is reached through an alias.
		c.expanding++
		defer func() { c.expanding-- }()
		n = n.Alias
	}
	sources := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		sources = n.Content
	}
	for _, s := range sources {
		v, err := c.value(s, depth-1)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return &convError{s.Line, ErrMalformed, "a << merge key needs a mapping or a list of mappings"}
		}
		for k, val := range m {
			if _, set := into[k]; !set {
				into[k] = val
			}
		}
	}
	return nil
}

func mapKey(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", &convError{k.Line, ErrMalformed, "a mapping key must be a plain value, not a list or mapping"}
	}
	if k.ShortTag() == "!!null" {
		return "null", nil
	}
	return k.Value, nil
}

// scalarValue resolves a scalar as YAML does, into a JSON-style value.
// Timestamps, binary and custom tags keep their text.
func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, &convError{n.Line, ErrMalformed, fmt.Sprintf("%s is not a boolean", quoteShort(n.Value))}
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		return floatValue(n)
	case "!!float":
		return floatValue(n)
	}
	return n.Value, nil
}

func floatValue(n *yaml.Node) (any, error) {
	var f float64
	if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &convError{n.Line, ErrMalformed, fmt.Sprintf("%s is not a number JSON can hold", quoteShort(n.Value))}
	}
	return f, nil
}

// normalizeJSON turns json.Number into int64 or float64 and checks depth.
func normalizeJSON(v any, depth, maxDepth int) (any, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		f, err := t.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, &convError{0, ErrMalformed, fmt.Sprintf("%s is not a number JSON can hold", quoteShort(t.String()))}
		}
		return f, nil
	case map[string]any:
		if depth+1 > maxDepth {
			return nil, &convError{0, ErrTooLarge, fmt.Sprintf("nested deeper than %d levels", maxDepth)}
		}
		for k, item := range t {
			n, err := normalizeJSON(item, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
	case []any:
		if depth+1 > maxDepth {
			return nil, &convError{0, ErrTooLarge, fmt.Sprintf("nested deeper than %d levels", maxDepth)}
		}
		for i, item := range t {
			n, err := normalizeJSON(item, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
	}
	return v, nil
}

func typeName(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return "a value"
}
