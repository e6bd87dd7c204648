package project

import (
	"fmt"

	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// ObjectRef names an object an Application would apply, and says whether
// its kind is namespaced in the destination cluster: only the cluster's
// discovery knows, and a manifest may name a namespace for a cluster-scoped
// kind (the API server ignores it, and so does CheckObjects).
type ObjectRef struct {
	Group      string
	Kind       string
	Namespace  string
	Namespaced bool
	Name       string
}

// NewObjectRef names the object meta names; namespaced is what the
// cluster's discovery says of its kind.
func NewObjectRef(meta inventory.ObjMetadata, namespaced bool) ObjectRef {
	return ObjectRef{Group: meta.Group, Kind: meta.Kind, Namespace: meta.Namespace, Namespaced: namespaced, Name: meta.Name}
}

// String is the form kubectl writes: Kind/namespace/name for a namespaced
// object, Kind/name for a cluster-scoped one.
func (o ObjectRef) String() string {
	if !o.Namespaced || o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// CheckObjects reports whether the Project allows every object of objs on
// cluster:
//   - a cluster-scoped kind must be in clusterResourceWhitelist (and denied
//     by none of its `!` entries);
//   - a namespaced kind must not be in namespaceResourceBlacklist;
//   - a namespaced object must have a namespace (callers give objects the
//     Application's namespace first), and that namespace must be allowed on
//     cluster as CheckDestination allows it;
//   - a Namespace object is checked as the namespace it makes, since
//     creating or changing a namespace (its labels, its pod security level)
//     is deploying to it: its name must be an allowed namespace too.
//
// The error is a *Violations holding every violation, sorted and each once,
// up to Options.MaxViolations; nil when all objects are allowed. An empty
// cluster is one violation, as in CheckDestination.
func (p *Policy) CheckObjects(cluster string, objs []ObjectRef) error {
	if cluster == "" {
		noCluster := p.violation(RuleDestinations, "destination "+clean(cluster), "has no cluster")
		return newViolations(p.name, []*ViolationError{noCluster}, p.opts.MaxViolations)
	}
	c := objectChecker{
		p:          p,
		cluster:    cluster,
		kinds:      map[kindKey]kindVerdict{},
		namespaces: map[string]destVerdict{},
	}
	var list []*ViolationError
	for _, o := range objs {
		list = c.check(list, o)
	}
	return newViolations(p.name, list, p.opts.MaxViolations)
}

type kindKey struct {
	group, kind string
	namespaced  bool
}

type kindVerdict struct {
	rule   Rule
	detail string // empty when allowed
}

// objectChecker remembers the verdict of each kind and namespace, so that a
// large render costs a map lookup per object.
type objectChecker struct {
	p          *Policy
	cluster    string
	kinds      map[kindKey]kindVerdict
	namespaces map[string]destVerdict
}

func (c *objectChecker) check(list []*ViolationError, o ObjectRef) []*ViolationError {
	add := func(rule Rule, detail string) {
		ref := o
		list = append(list, &ViolationError{
			Project: c.p.name, Rule: rule, Subject: clean(o.String()), Detail: detail, Object: &ref,
		})
	}
	if v := c.kind(o); v.detail != "" {
		add(v.rule, v.detail)
	}
	switch {
	case o.Namespaced && o.Namespace == "":
		add(RuleDestinations, "namespaced object has no namespace")
	case o.Namespaced:
		if d := c.namespace(o.Namespace); d != "" {
			add(RuleDestinations, d)
		}
	case o.Group == "" && o.Kind == "Namespace":
		if d := c.namespace(o.Name); d != "" {
			add(RuleDestinations, d)
		}
	}
	return list
}

func (c *objectChecker) namespace(ns string) string {
	v, ok := c.namespaces[ns]
	if !ok {
		v = c.p.destVerdict(c.cluster, ns)
		c.namespaces[ns] = v
	}
	return v.namespaceDetail(c.cluster, ns)
}

func (c *objectChecker) kind(o ObjectRef) kindVerdict {
	key := kindKey{group: o.Group, kind: o.Kind, namespaced: o.Namespaced}
	v, ok := c.kinds[key]
	if !ok {
		v = c.p.kindVerdict(key)
		c.kinds[key] = v
	}
	return v
}

func (p *Policy) kindVerdict(k kindKey) kindVerdict {
	name := clean(k.kind)
	if k.group != "" {
		name = clean(k.group) + "/" + name
	}
	if k.namespaced {
		if i, found := matchKind(p.blacklist, k, false); found {
			return kindVerdict{RuleNamespaceResourceBlacklist,
				fmt.Sprintf("namespaced kind %s is in namespaceResourceBlacklist[%d]", name, i)}
		}
		return kindVerdict{}
	}
	if i, found := matchKind(p.whitelist, k, true); found {
		return kindVerdict{RuleClusterResourceWhitelist,
			fmt.Sprintf("cluster-scoped kind %s is denied by clusterResourceWhitelist[%d]", name, i)}
	}
	if _, found := matchKind(p.whitelist, k, false); !found {
		return kindVerdict{RuleClusterResourceWhitelist,
			fmt.Sprintf("cluster-scoped kind %s is not in clusterResourceWhitelist", name)}
	}
	return kindVerdict{}
}

// matchKind returns the index of the first entry of list, of the given
// deny-ness, that matches k.
func matchKind(list []kindEntry, k kindKey, deny bool) (int, bool) {
	for _, e := range list {
		if e.deny == deny && e.group.match(k.group) && e.kind.match(k.kind) {
			return e.index, true
		}
	}
	return 0, false
}
