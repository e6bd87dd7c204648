package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/flotilla-dev/flotilla/internal/engine"
)

// Bounds of a Notification's template.
const (
	// MaxTemplateSize is the longest template accepted, in bytes.
	MaxTemplateSize = 4096
	// MaxMessageSize bounds what a template (or the default message)
	// produces, in bytes; a longer message is cut, with an ellipsis.
	MaxMessageSize = 4096
	// templateTimeout bounds one execution. What templates may do is
	// linear in their size and the event's, so it is never reached by a
	// template that passed Compile; it stays as a guard.
	templateTimeout = time.Second
)

// ErrTemplate says a template was refused or failed; the message names
// what.
var ErrTemplate = errors.New("notification template")

// templateFuncs are the only functions a template may call besides the
// comparisons and logic of text/template: pure, and linear in their input.
var templateFuncs = template.FuncMap{
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"trim":     strings.TrimSpace,
	"shortSHA": engine.ShortSHA,
	"trunc": func(n int, s string) string {
		if n < 0 {
			n = 0
		}
		return cut(s, n)
	},
	"default": func(def, v string) string {
		if v == "" {
			return def
		}
		return v
	},
}

// allowedIdents are the identifiers a template may name: templateFuncs and
// text/template's own pure builtins. print, printf and println are left
// out (a width such as %0999999999d allocates without bound), and so are
// call, slice, html, js and urlquery, which messages do not need.
var allowedIdents = map[string]bool{
	"and": true, "or": true, "not": true, "len": true, "index": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
}

// Template is a compiled message template; safe for concurrent use.
type Template struct {
	t *template.Template
}

// CompileTemplate parses text and checks that it uses only what messages
// may: fields of the event, if/else, with, comparisons, logic and the
// documented functions. range, define, template, block, break and continue
// are refused, as are variables assigned or declared: a template's cost
// is then bounded by its own size.
func CompileTemplate(text string) (*Template, error) {
	if len(text) > MaxTemplateSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTemplate, len(text), MaxTemplateSize)
	}
	t, err := template.New("message").Option("missingkey=error").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("%w: define and block are not allowed", ErrTemplate)
	}
	if err := checkNode(t.Root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return &Template{t: t}, nil
}

//nolint:gocyclo // one case per node kind of text/template/parse
func checkNode(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.TextNode, *parse.CommentNode, *parse.FieldNode, *parse.DotNode, *parse.NilNode,
		*parse.BoolNode, *parse.NumberNode, *parse.StringNode, *parse.VariableNode:
		if v, ok := n.(*parse.VariableNode); ok && v.Ident[0] != "$" {
			return fmt.Errorf("variables are not allowed (%s)", v)
		}
	case *parse.ActionNode:
		return checkNode(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		if len(n.Decl) > 0 {
			return fmt.Errorf("variables are not allowed (%s)", n)
		}
		for _, c := range n.Cmds {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := checkNode(a); err != nil {
				return err
			}
		}
	case *parse.ChainNode:
		return checkNode(n.Node)
	case *parse.IdentifierNode:
		if _, ok := templateFuncs[n.Ident]; !ok && !allowedIdents[n.Ident] {
			return fmt.Errorf("function %q is not allowed", n.Ident)
		}
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	default:
		return fmt.Errorf("%s is not allowed", strings.TrimSpace(describe(n)))
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	for _, c := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := checkNode(c); err != nil {
			return err
		}
	}
	return nil
}

// describe names a refused node by its kind.
func describe(n parse.Node) string {
	switch n.(type) {
	case *parse.RangeNode:
		return "range"
	case *parse.TemplateNode:
		return "template"
	case *parse.BreakNode:
		return "break"
	case *parse.ContinueNode:
		return "continue"
	}
	return fmt.Sprintf("%T", n)
}

// Execute renders the template for ev, cut at MaxMessageSize bytes, within
// templateTimeout.
func (t *Template) Execute(ctx context.Context, ev Event) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, templateTimeout)
	defer cancel()
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		w := &boundedWriter{limit: MaxMessageSize}
		err := t.t.Execute(w, ev)
		if errors.Is(err, errMessageFull) {
			err = nil
		}
		done <- result{w.String(), err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("%w: %w", ErrTemplate, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		return "", fmt.Errorf("%w: did not finish within %s", ErrTemplate, templateTimeout)
	}
}

var errMessageFull = errors.New("message full")

// boundedWriter keeps the first limit bytes written to it and then fails
// every write, which stops the template.
type boundedWriter struct {
	b     strings.Builder
	limit int
	full  bool
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	room := w.limit - w.b.Len()
	if len(p) <= room {
		w.b.Write(p)
		return len(p), nil
	}
	w.b.Write(p[:max(room, 0)])
	w.full = true
	return 0, errMessageFull
}

// String is what was written, cut on a rune boundary with an ellipsis when
// the limit was reached.
func (w *boundedWriter) String() string {
	if !w.full {
		return w.b.String()
	}
	return cut(w.b.String()+"\x00", w.limit)
}
