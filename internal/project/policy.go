package project

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Options configures Compile. Start from DefaultOptions; a zero field takes
// its default.
type Options struct {
	// OwnNamespace is the namespace Flotilla runs in, on the hub and on
	// every cluster with an agent. No Project allows it as a destination
	// unless one of its destinations names it exactly (no wildcard). Default
	// v1alpha1.DefaultNamespace ("flotilla-system").
	OwnNamespace string
	// MaxViolations bounds how many violations one CheckObjects error
	// lists; it counts the rest. Default 20.
	MaxViolations int
}

// DefaultOptions returns the options Flotilla runs with: its own namespace
// is "flotilla-system", and an error lists at most 20 violations.
func DefaultOptions() Options {
	return Options{OwnNamespace: flotillav1.DefaultNamespace, MaxViolations: 20}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.OwnNamespace == "" {
		o.OwnNamespace = d.OwnNamespace
	}
	if o.MaxViolations < 1 {
		o.MaxViolations = d.MaxViolations
	}
	return o
}

// maxCompileErrors bounds how many broken fields one Compile error lists.
const maxCompileErrors = 10

// Policy is a compiled Project: every pattern parsed and normalized once. It
// never changes after Compile and is safe for concurrent use.
type Policy struct {
	name         string
	opts         Options
	sources      []entry
	destinations []destEntry
	whitelist    []kindEntry
	blacklist    []kindEntry
	secrets      []entry
	sa           string
	roles        []role
}

// entry is one pattern of a list; deny is set for a `!pattern`.
type entry struct {
	index int
	deny  bool
	g     glob
}

// destEntry is one of Spec.Destinations. It denies when either field had a
// '!': what it denies is what both fields match.
type destEntry struct {
	index     int
	deny      bool
	cluster   glob
	namespace glob
	// names is the namespace it names exactly: set only when its namespace
	// pattern has no wildcard and it allows (see Options.OwnNamespace).
	names string
}

// kindEntry is one GroupKindPattern; deny as in destEntry.
type kindEntry struct {
	index int
	deny  bool
	group glob
	kind  glob
}

type role struct {
	name     string
	users    []string
	groups   []string
	policies []glob
}

// builtinDefault is the Project used when none named "default" exists:
// every source, destination, kind and Secret. As for any Project,
// Flotilla's own namespace is not among its destinations, since no pattern
// of it names that namespace exactly, and a Cluster's credentials are not
// among its Secrets (the caller refuses those for every Project).
var builtinDefault = flotillav1.ProjectSpec{
	SourceRepos:              []string{"*"},
	Destinations:             []flotillav1.ProjectDestination{{Cluster: "*", Namespace: "*"}},
	ClusterResourceWhitelist: []flotillav1.GroupKindPattern{{Group: "*", Kind: "*"}},
	Secrets:                  []string{"*"},
}

// Compile checks every pattern of p and returns its Policy, with
// DefaultOptions. A nil p is the built-in "default" Project, which allows
// every source, destination and kind (but not Flotilla's own namespace):
// callers pass nil when the Application names "default" and no Project of
// that name exists. A Project named "default" that exists is used as
// written, like any other.
//
// The error, when p has broken fields, wraps ErrInvalidProject and names
// each field and index (up to 10 of them).
func Compile(p *flotillav1.Project) (*Policy, error) {
	return CompileWith(p, DefaultOptions())
}

// CompileWith is Compile with options.
func CompileWith(p *flotillav1.Project, opts Options) (*Policy, error) {
	opts = opts.withDefaults()
	name, spec := flotillav1.DefaultProject, builtinDefault
	if p != nil {
		name, spec = p.Name, p.Spec
	}
	if name == "" {
		return nil, fmt.Errorf("%w: the Project has no name", ErrInvalidProject)
	}
	c := compiler{}
	pol := &Policy{
		name:         name,
		opts:         opts,
		sources:      c.sources(spec.SourceRepos),
		destinations: c.destinations(spec.Destinations),
		whitelist:    c.kinds("clusterResourceWhitelist", spec.ClusterResourceWhitelist, true),
		blacklist:    c.kinds("namespaceResourceBlacklist", spec.NamespaceResourceBlacklist, false),
		secrets:      c.secrets(spec.Secrets),
		sa:           spec.ServiceAccount,
		roles:        c.roles(spec.Roles),
	}
	c.serviceAccount(spec.ServiceAccount)
	if err := c.err(name); err != nil {
		return nil, err
	}
	return pol, nil
}

// Name is the name of the Project the Policy was compiled from.
func (p *Policy) Name() string { return p.name }

// compiler collects the errors of one Compile.
type compiler struct {
	errs  []string
	count int
}

func (c *compiler) fail(field string, err error) {
	c.count++
	if len(c.errs) < maxCompileErrors {
		c.errs = append(c.errs, field+": "+err.Error())
	}
}

func (c *compiler) err(project string) error {
	if c.count == 0 {
		return nil
	}
	msg := strings.Join(c.errs, "; ")
	if more := c.count - len(c.errs); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return fmt.Errorf("%w %s: %s", ErrInvalidProject, clean(project), msg)
}

// pattern compiles one pattern of a field, with an optional leading '!'.
// show is what the error quotes: the pattern itself, but never the
// userinfo of a URL.
func (c *compiler) pattern(field, raw string, negatable bool, show func(string) string) (g glob, deny bool, ok bool) {
	body := raw
	if strings.HasPrefix(raw, "!") {
		if !negatable {
			c.fail(field, fmt.Errorf("%w %s: negation is not supported here", errPattern, quote(show(raw))))
			return glob{}, false, false
		}
		body, deny = raw[1:], true
	}
	g, err := compileGlob(body)
	if err != nil {
		c.fail(field, fmt.Errorf("%s: %w", quote(show(raw)), err))
		return glob{}, false, false
	}
	return g, deny, true
}

func asIs(s string) string { return s }

func (c *compiler) sources(repos []string) []entry {
	var out []entry
	for i, raw := range repos {
		field := fmt.Sprintf("sourceRepos[%d]", i)
		g, deny, ok := c.pattern(field, raw, true, hideUserinfo)
		if !ok {
			continue
		}
		norm := normalizeRepoPattern(g.text)
		if norm == "" {
			c.fail(field, fmt.Errorf("%s: %w: matches no repository URL", quote(hideUserinfo(raw)), errPattern))
			continue
		}
		out = append(out, entry{index: i, deny: deny, g: newGlob(norm)})
	}
	return out
}

func (c *compiler) destinations(dests []flotillav1.ProjectDestination) []destEntry {
	var out []destEntry
	for i, d := range dests {
		field := fmt.Sprintf("destinations[%d]", i)
		cg, cdeny, cok := c.pattern(field+".cluster", d.Cluster, true, asIs)
		ng, ndeny, nok := c.pattern(field+".namespace", d.Namespace, true, asIs)
		if !cok || !nok {
			continue
		}
		e := destEntry{index: i, deny: cdeny || ndeny, cluster: cg, namespace: ng}
		if !e.deny && ng.literal {
			e.names = ng.text
		}
		out = append(out, e)
	}
	return out
}

func (c *compiler) kinds(field string, list []flotillav1.GroupKindPattern, negatable bool) []kindEntry {
	var out []kindEntry
	for i, gk := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		// The empty group is the core group: a literal, not a pattern.
		gg, gdeny, gok := glob{literal: true}, false, true
		if gk.Group != "" {
			gg, gdeny, gok = c.pattern(f+".group", gk.Group, negatable, asIs)
		}
		kg, kdeny, kok := c.pattern(f+".kind", gk.Kind, negatable, asIs)
		if gok && kok {
			out = append(out, kindEntry{index: i, deny: gdeny || kdeny, group: gg, kind: kg})
		}
	}
	return out
}

func (c *compiler) roles(roles []flotillav1.ProjectRole) []role {
	var out []role
	seen := map[string]bool{}
	for i, r := range roles {
		f := fmt.Sprintf("roles[%d]", i)
		switch {
		case r.Name == "":
			c.fail(f+".name", errors.New("empty"))
		case seen[r.Name]:
			c.fail(f+".name", fmt.Errorf("%s is given twice", quote(r.Name)))
		}
		seen[r.Name] = true
		for j, g := range r.Groups {
			if g == "" {
				c.fail(fmt.Sprintf("%s.groups[%d]", f, j), errors.New("empty"))
			}
		}
		for j, u := range r.Users {
			if u == "" {
				c.fail(fmt.Sprintf("%s.users[%d]", f, j), errors.New("empty"))
			}
		}
		rl := role{name: r.Name, users: slices.Clone(r.Users), groups: slices.Clone(r.Groups)}
		for j, pol := range r.Policies {
			pf := fmt.Sprintf("%s.policies[%d]", f, j)
			g, _, ok := c.pattern(pf, pol, false, asIs)
			if ok && pol != "*" && !strings.Contains(pol, ":") {
				c.fail(pf, fmt.Errorf("%w %s: want \"resource:action\", such as \"applications:sync\", or \"*\"", errPattern, quote(pol)))
				ok = false
			}
			if ok {
				rl.policies = append(rl.policies, g)
			}
		}
		out = append(out, rl)
	}
	return out
}

func (c *compiler) serviceAccount(sa string) {
	if sa == "" {
		return
	}
	if msgs := validation.IsDNS1123Subdomain(sa); len(msgs) > 0 {
		c.fail("serviceAccount", fmt.Errorf("invalid name %s: %s", quote(sa), strings.Join(msgs, "; ")))
	}
}
