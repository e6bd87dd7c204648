package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"

	"github.com/flotilla-dev/flotilla/internal/yamlsize"
)

// From names the tool the input was written for.
type From string

const (
	ArgoCD From = "argocd"
	Flux   From = "flux"
)

// Options bounds what one import reads.
type Options struct {
	// MaxBytes is the most input read; more is refused.
	MaxBytes int64
	// MaxDocuments is the most YAML documents in the input.
	MaxDocuments int
	// MaxNodes bounds the YAML nodes of the input, counted by yamlsize
	// before the parser is handed it.
	MaxNodes int
}

// DefaultOptions allows a large export (a few thousand objects) and refuses
// more before parsing it.
func DefaultOptions() Options {
	return Options{MaxBytes: 16 << 20, MaxDocuments: 5000, MaxNodes: 2_000_000}
}

// ErrTooLarge is returned when the input passes one of the Options' bounds.
var ErrTooLarge = errors.New("input too large")

// Refusal is an input object that was not converted, and why.
type Refusal struct {
	Object string // Kind/namespace/name, or "document N" when it has no kind
	Reason string
}

// Result is what an import produced: Flotilla manifests, each with comments
// naming the input fields that have no equivalent, the decisions left to a
// person, and the objects refused.
type Result struct {
	Documents []*yaml.Node
	Kinds     []string // the kind of each document, for the summary
	Decisions []string
	Refused   []Refusal
}

// Convert reads the multi-document YAML in r, written for the tool named by
// from, and converts what it can.
func Convert(r io.Reader, from From, opts Options) (*Result, error) {
	objs, res, err := read(r, opts)
	if err != nil {
		return nil, err
	}
	switch from {
	case ArgoCD:
		convertArgoCD(objs, res)
	case Flux:
		convertFlux(objs, res)
	default:
		return nil, fmt.Errorf("import from %q: not supported (argocd or flux)", from)
	}
	return res, nil
}

// read parses the input into objects after checking its bounds; a document
// that is not an object with a kind and a name is refused, not fatal.
func read(r io.Reader, opts Options) ([]*object, *Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the input: %w", err)
	}
	if int64(len(data)) > opts.MaxBytes {
		return nil, nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, opts.MaxBytes)
	}
	if n := yamlsize.Nodes(data, opts.MaxNodes); n > opts.MaxNodes {
		return nil, nil, fmt.Errorf("%w: more than %d YAML nodes", ErrTooLarge, opts.MaxNodes)
	}
	res := &Result{}
	var objs []*object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 1; ; i++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("document %d: not YAML: %w", i, err)
		}
		if i > opts.MaxDocuments {
			return nil, nil, fmt.Errorf("%w: more than %d documents", ErrTooLarge, opts.MaxDocuments)
		}
		if hasAlias(&doc) {
			res.refuse(fmt.Sprintf("document %d", i), "uses a YAML alias; write the values out in full")
			continue
		}
		var raw any
		if err := doc.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		items, ok := listItems(raw)
		if !ok {
			items = []any{raw}
		}
		for _, item := range items {
			if o := objectOf(item, i, res); o != nil {
				objs = append(objs, o)
			}
		}
	}
	return objs, res, nil
}

// listItems unwraps a List (what `kubectl get -o yaml` prints for many).
func listItems(raw any) ([]any, bool) {
	m, ok := raw.(map[string]any)
	if !ok || m["kind"] != "List" {
		return nil, false
	}
	items, _ := m["items"].([]any)
	return items, true
}

func objectOf(item any, i int, res *Result) *object {
	if item == nil {
		return nil // an empty document
	}
	m, ok := item.(map[string]any)
	if !ok {
		res.refuse(fmt.Sprintf("document %d", i), "is not a Kubernetes object")
		return nil
	}
	o := newObject(m)
	if o.kind == "" || o.name == "" {
		res.refuse(fmt.Sprintf("document %d", i), "has no kind or no metadata.name")
		return nil
	}
	return o
}

func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

func (r *Result) refuse(object, reason string) {
	r.Refused = append(r.Refused, Refusal{Object: object, Reason: reason})
}

func (r *Result) decide(object, format string, args ...any) {
	r.Decisions = append(r.Decisions, object+": "+fmt.Sprintf(format, args...))
}

// add appends a converted document, its head comment naming the input and
// every input field that was not converted.
func (r *Result) add(from *object, tool string, kind string, doc *yaml.Node, extra ...*object) {
	head := fmt.Sprintf("Imported from %s %s.", tool, from.ref())
	for _, o := range append([]*object{from}, extra...) {
		left := o.leftovers()
		if len(left) == 0 {
			continue
		}
		head += fmt.Sprintf("\nNo equivalent in Flotilla, left out (from %s):", o.ref())
		for _, l := range left {
			head += "\n  " + l
		}
	}
	r.Documents = append(r.Documents, &yaml.Node{Kind: yaml.DocumentNode, HeadComment: head, Content: []*yaml.Node{doc}})
	r.Kinds = append(r.Kinds, kind)
}
