package project

import (
	"fmt"
)

// CheckSource reports whether the Project allows repoURL: a repository URL
// (git over https or ssh, scp-like, oci://, or a Helm repository). The URL
// is normalized before matching, as the patterns were: scheme and host in
// lower case, userinfo and default ports dropped, a trailing ".git" or '/'
// ignored, percent-escapes of unreserved characters decoded. It must match
// an allowing pattern and no `!pattern`.
//
// A URL that cannot be checked safely is refused whatever the patterns: one
// with a '.' or '..' path segment (a server resolves them), an encoded '/',
// '\' or control character, a malformed escape, a space, a backslash or a
// non-ASCII character.
//
// Every URL a render fetches from (a kustomize remote base, a Helm
// dependency) is a source too, and goes through CheckSource.
func (p *Policy) CheckSource(repoURL string) error {
	norm, problem := normalizeRepoURL(repoURL)
	subject := "source " + displayURL(norm)
	if problem != "" {
		return p.violation(RuleSourceRepos, subject, problem+", so it cannot be checked against sourceRepos")
	}
	allowed := false
	for _, e := range p.sources {
		if !e.g.match(norm) {
			continue
		}
		if e.deny {
			return p.violation(RuleSourceRepos, subject, fmt.Sprintf("is denied by sourceRepos[%d]", e.index))
		}
		allowed = true
	}
	if !allowed {
		return p.violation(RuleSourceRepos, subject, "is not in sourceRepos")
	}
	return nil
}

// CheckDestination reports whether the Project allows an Application to
// deploy to namespace on cluster (a Cluster's name, or "in-cluster").
//
// A namespace is allowed when a destination that allows matches both the
// cluster and the namespace, and no denying one (with a '!' on either
// field) matches both. Flotilla's own namespace (Options.OwnNamespace) is
// allowed only when a destination that matches the cluster names it exactly.
//
// An empty namespace is an Application that names no namespace: its objects
// name their own, and CheckObjects checks each of them. It is allowed on a
// cluster that some allowing destination matches, unless a denying one
// matches the cluster and the empty namespace (a namespace pattern of `*`
// does), and unless the Project has a ServiceAccount, which must be
// impersonated in a namespace. An empty cluster is never allowed: callers
// default it to "in-cluster" first.
func (p *Policy) CheckDestination(cluster, namespace string) error {
	subject := "destination " + clean(cluster)
	if namespace != "" {
		subject += "/" + clean(namespace)
	}
	v := p.destVerdict(cluster, namespace)
	if detail := v.destinationDetail(); detail != "" {
		return p.violation(RuleDestinations, subject, detail)
	}
	if namespace == "" && p.sa != "" {
		return p.violation(RuleServiceAccount, subject,
			"has no namespace to impersonate serviceAccount "+clean(p.sa)+" in")
	}
	return nil
}

func (p *Policy) violation(rule Rule, subject, detail string) *ViolationError {
	return &ViolationError{Project: p.name, Rule: rule, Subject: subject, Detail: detail}
}

// destCode is the outcome of checking a destination.
type destCode int

const (
	destAllowed destCode = iota
	destNotListed
	destDenied
	destOwnNamespace
	destNoCluster
)

type destVerdict struct {
	code  destCode
	index int // of the denying destination
}

func (p *Policy) destVerdict(cluster, namespace string) destVerdict {
	if cluster == "" {
		return destVerdict{code: destNoCluster}
	}
	listed, named := false, false
	for _, d := range p.destinations {
		if !d.cluster.match(cluster) {
			continue
		}
		switch {
		case d.deny:
			if d.namespace.match(namespace) {
				return destVerdict{code: destDenied, index: d.index}
			}
		case namespace == "" || d.namespace.match(namespace):
			listed = true
			named = named || d.names != "" && d.names == namespace
		}
	}
	switch {
	case !listed:
		return destVerdict{code: destNotListed}
	case namespace == p.opts.OwnNamespace && !named:
		return destVerdict{code: destOwnNamespace}
	}
	return destVerdict{code: destAllowed}
}

// ownNamespaceRule says why Flotilla's own namespace is refused.
const ownNamespaceRule = "Flotilla's own namespace, which only a destination naming it exactly allows"

// destinationDetail follows "destination <cluster>/<namespace>"; empty when
// allowed.
func (v destVerdict) destinationDetail() string {
	switch v.code {
	case destNotListed:
		return "is not in destinations"
	case destDenied:
		return fmt.Sprintf("is denied by destinations[%d]", v.index)
	case destOwnNamespace:
		return "is " + ownNamespaceRule
	case destNoCluster:
		return "has no cluster"
	}
	return ""
}

// namespaceDetail is the clause for an object in namespace on cluster;
// empty when allowed.
func (v destVerdict) namespaceDetail(cluster, namespace string) string {
	ns := "namespace " + clean(namespace)
	switch v.code {
	case destNotListed:
		return ns + " is not in destinations for cluster " + clean(cluster)
	case destDenied:
		return fmt.Sprintf("%s on cluster %s is denied by destinations[%d]", ns, clean(cluster), v.index)
	case destOwnNamespace:
		return ns + " is " + ownNamespaceRule
	case destNoCluster:
		return "the destination has no cluster"
	}
	return ""
}
