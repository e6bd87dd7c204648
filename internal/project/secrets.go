package project

import (
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func (c *compiler) secrets(names []string) []entry {
	var out []entry
	for i, raw := range names {
		g, deny, ok := c.pattern(fmt.Sprintf("secrets[%d]", i), raw, true, asIs)
		if ok {
			out = append(out, entry{index: i, deny: deny, g: g})
		}
	}
	return out
}

// CheckSecret reports whether the Project lets its Applications and Fleets
// use the Secret name, whose labels are given, as source credentials,
// verification keys or decryption keys. The caller checks it from the
// Secret's metadata, before its data is read.
//
// A Secret is allowed when it is labelled v1alpha1.ProjectLabel with the
// Project's name, or when its name matches an allowing pattern of
// spec.secrets; in both cases only when no `!pattern` matches it. The
// built-in "default" Project allows every Secret. Whatever the Project, a
// Cluster's credentials are never a source's: the caller refuses them.
func (p *Policy) CheckSecret(name string, labels map[string]string) error {
	subject := "Secret " + clean(name)
	allowed := labels[flotillav1.ProjectLabel] == p.name
	for _, e := range p.secrets {
		if !e.g.match(name) {
			continue
		}
		if e.deny {
			return p.violation(RuleSecrets, subject, fmt.Sprintf("is denied by secrets[%d]", e.index))
		}
		allowed = true
	}
	if !allowed {
		return p.violation(RuleSecrets, subject,
			fmt.Sprintf("is neither in secrets nor labelled %s=%s", flotillav1.ProjectLabel, clean(p.name)))
	}
	return nil
}
