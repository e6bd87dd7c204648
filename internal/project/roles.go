package project

import "slices"

// ServiceAccount is the ServiceAccount the Project's Applications act as in
// their destination namespace; empty when they act as Flotilla itself.
func (p *Policy) ServiceAccount() string { return p.sa }

// ImpersonationUser is the user name to impersonate for an Application
// deploying to namespace: "system:serviceaccount:<namespace>:<sa>", or
// empty when the Project has no ServiceAccount.
//
// Whether the ServiceAccount exists is for the caller to check in the
// destination cluster: a missing one is an error, never a fall-back to
// Flotilla's own identity. CheckDestination refuses an empty namespace when
// there is a ServiceAccount; a caller that skipped it still gets
// "system:serviceaccount::<sa>", a name no ServiceAccount has, so that it
// fails closed rather than acting as itself.
func (p *Policy) ImpersonationUser(namespace string) string {
	if p.sa == "" {
		return ""
	}
	return "system:serviceaccount:" + namespace + ":" + p.sa
}

// Allows reports whether user, a member of groups, may do policy, a
// "resource:action" such as "applications:sync", on the Project's
// Applications through the API. A role grants it when user is among its
// users or one of its groups is among groups (exactly) and one of its
// policies matches policy (`*` matches any run of characters, ':' too:
// "applications:*", "*"). An empty user matches no role's users.
//
// Only the Project's roles grant anything here: the built-in "default"
// Project has none, and grants nothing to anyone. Who may do anything
// everywhere is the API server's own configuration.
func (p *Policy) Allows(user string, groups []string, policy string) bool {
	if policy == "" {
		return false
	}
	for _, r := range p.roles {
		member := user != "" && slices.Contains(r.users, user)
		if !member && !slices.ContainsFunc(r.groups, func(g string) bool { return slices.Contains(groups, g) }) {
			continue
		}
		for _, g := range r.policies {
			if g.match(policy) {
				return true
			}
		}
	}
	return false
}
