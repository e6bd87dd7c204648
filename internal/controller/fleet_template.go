package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// templateData is what a Fleet template's strings may refer to.
type templateData struct {
	Cluster templateCluster
}

type templateCluster struct {
	Name   string
	Labels map[string]string
}

// Bounds of a Fleet template. Templates run in the Fleet reconciler, which
// serves every Fleet, so each is held to work proportional to its text: no
// loops, no recursion, and these limits on what it may produce.
const (
	// maxTemplateOutput bounds everything the strings of one template
	// produce for one cluster, function results included.
	maxTemplateOutput = 256 << 10
	// maxTemplateNodes bounds the parse tree of one templated string (an
	// action such as {{ .Cluster.Name }} is four nodes: action, pipeline,
	// command, field).
	maxTemplateNodes = 1000
)

// templateBuiltins are the builtin functions of text/template a Fleet
// template may call; templateFuncs adds a few string functions. Anything
// else (call, printf with its unbounded widths, html, js, …) is refused.
var templateBuiltins = map[string]bool{
	"index": true, "len": true, "slice": true, "print": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
	"and": true, "or": true, "not": true,
}

// errTemplateRefused marks a template that uses what Fleet templates may
// not, or produces more than they may; its condition reason is
// ReasonTemplateRefused.
var errTemplateRefused = errors.New("template refused")

// stampSpec returns the Application spec a Fleet generates for one cluster:
// every string of the template executed with the cluster's name and labels,
// the destination set to the cluster and the project to the Fleet's. The
// template cannot choose its own project or cluster.
func stampSpec(f *flotillav1.Fleet, c *flotillav1.Cluster) (flotillav1.ApplicationSpec, error) {
	raw, err := json.Marshal(f.Spec.Template)
	if err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	data := templateData{Cluster: templateCluster{Name: c.Name, Labels: c.Labels}}
	if data.Cluster.Labels == nil {
		data.Cluster.Labels = map[string]string{}
	}
	s := &stamper{data: data, left: maxTemplateOutput}
	tree, err = s.expand(tree, "template")
	if err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	raw, err = json.Marshal(tree)
	if err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	var t flotillav1.FleetTemplate
	if err := json.Unmarshal(raw, &t); err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	project := f.Spec.Project
	if project == "" {
		project = flotillav1.DefaultProject
	}
	return flotillav1.ApplicationSpec{
		Project:           project,
		Source:            t.Source,
		Destination:       flotillav1.Destination{Cluster: c.Name, Namespace: t.Destination.Namespace},
		SyncPolicy:        t.SyncPolicy,
		IgnoreDifferences: t.IgnoreDifferences,
		HealthChecks:      t.HealthChecks,
		DependsOn:         t.DependsOn,
		DeletionPolicy:    t.DeletionPolicy,
	}, nil
}

// stamper executes the strings of one template for one cluster, charging
// what they produce to left.
type stamper struct {
	data templateData
	left int
}

// expand executes every string in the tree as a Go template.
func (s *stamper) expand(node any, path string) (any, error) {
	switch v := node.(type) {
	case string:
		return s.expandString(v, path)
	case map[string]any:
		for k, child := range v {
			out, err := s.expand(child, path+"."+k)
			if err != nil {
				return nil, err
			}
			v[k] = out
		}
		return v, nil
	case []any:
		for i, child := range v {
			out, err := s.expand(child, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			v[i] = out
		}
		return v, nil
	default:
		return v, nil
	}
}

func (s *stamper) expandString(text, path string) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	tmpl, err := template.New(path).Option("missingkey=error").Funcs(s.funcs()).Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := checkTemplate(tmpl); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	out := &limitedWriter{s: s}
	if err := tmpl.Execute(out, s.data); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return out.String(), nil
}

// charge takes n bytes of output from the template's budget.
func (s *stamper) charge(n int) error {
	if n > s.left {
		return fmt.Errorf("%w: the template produces more than %d bytes for one cluster", errTemplateRefused, maxTemplateOutput)
	}
	s.left -= n
	return nil
}

// funcs are the string functions a template may call besides the allowed
// builtins. Their results are charged like output, so that nesting them
// (each replace doubling a string) stops at the limit.
func (s *stamper) funcs() template.FuncMap {
	str := func(f func(string) string) func(string) (string, error) {
		return func(a string) (string, error) { return s.result(f(a)) }
	}
	str2 := func(f func(string, string) string) func(string, string) (string, error) {
		return func(a, b string) (string, error) { return s.result(f(a, b)) }
	}
	return template.FuncMap{
		"lower":      str(strings.ToLower),
		"upper":      str(strings.ToUpper),
		"trimSpace":  str(strings.TrimSpace),
		"trimPrefix": str2(func(prefix, v string) string { return strings.TrimPrefix(v, prefix) }),
		"trimSuffix": str2(func(suffix, v string) string { return strings.TrimSuffix(v, suffix) }),
		"replace": func(old, new, v string) (string, error) {
			// Charged before the work, at most what the result can be.
			if err := s.charge(len(v) + strings.Count(v, old)*len(new)); err != nil {
				return "", err
			}
			return strings.ReplaceAll(v, old, new), nil
		},
	}
}

func (s *stamper) result(v string) (string, error) {
	return v, s.charge(len(v))
}

// limitedWriter charges what a template writes to its stamper.
type limitedWriter struct {
	bytes.Buffer
	s *stamper
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if err := w.s.charge(len(p)); err != nil {
		return 0, err
	}
	return w.Buffer.Write(p)
}

// checkTemplate refuses what could make a template run long: loops
// (range), recursion (define, template, block), declaring variables (one
// doubled at each step grows exponentially), with, and calls of functions
// outside templateBuiltins and funcs. What is left runs once per node of
// its parse tree, and the tree is bounded by maxTemplateNodes.
func checkTemplate(tmpl *template.Template) error {
	if len(tmpl.Templates()) > 1 {
		return refused("define and block are not allowed")
	}
	c := templateChecker{funcs: (&stamper{}).funcs()}
	return c.walk(tmpl.Root)
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+"; a Fleet template may use fields, if, index and a few string functions", append([]any{errTemplateRefused}, args...)...)
}

type templateChecker struct {
	funcs template.FuncMap
	nodes int
}

func (c *templateChecker) walk(n parse.Node) error {
	if n == nil {
		return nil
	}
	if c.nodes++; c.nodes > maxTemplateNodes {
		return refused("more than %d template nodes in one string", maxTemplateNodes)
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil { // an if without else
			return nil
		}
		return c.walkAll(n.Nodes)
	case *parse.TextNode, *parse.FieldNode, *parse.DotNode, *parse.StringNode,
		*parse.NumberNode, *parse.BoolNode, *parse.NilNode, *parse.CommentNode:
		return nil
	case *parse.VariableNode:
		return nil // only $, the data: declaring a variable is refused
	case *parse.ActionNode:
		return c.walk(n.Pipe)
	case *parse.IfNode:
		return c.walkAll([]parse.Node{n.Pipe, n.List, n.ElseList})
	case *parse.PipeNode:
		return c.walkPipe(n)
	case *parse.CommandNode:
		return c.walkAll(n.Args)
	case *parse.ChainNode:
		return c.walk(n.Node)
	case *parse.IdentifierNode:
		if _, ok := c.funcs[n.Ident]; ok || templateBuiltins[n.Ident] {
			return nil
		}
		return refused("function %q is not allowed", n.Ident)
	}
	return refusedNode(n)
}

func (c *templateChecker) walkPipe(n *parse.PipeNode) error {
	if n == nil {
		return nil
	}
	if len(n.Decl) > 0 {
		return refused("variables are not allowed")
	}
	for _, cmd := range n.Cmds {
		if err := c.walk(cmd); err != nil {
			return err
		}
	}
	return nil
}

// refusedNode names what a refused node is.
func refusedNode(n parse.Node) error {
	switch n.(type) {
	case *parse.RangeNode:
		return refused("range is not allowed")
	case *parse.WithNode:
		return refused("with is not allowed")
	case *parse.TemplateNode:
		return refused("template is not allowed")
	}
	return refused("%s is not allowed", n.String())
}

func (c *templateChecker) walkAll(nodes []parse.Node) error {
	for _, n := range nodes {
		if err := c.walk(n); err != nil {
			return err
		}
	}
	return nil
}
