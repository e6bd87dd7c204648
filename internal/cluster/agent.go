package cluster

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// AgentName names, in the hub, what a pull agent's credential is made of:
// its ServiceAccount, token Secret, Role and RoleBinding.
func AgentName(cluster string) string { return "flotilla-agent-" + cluster }

// AgentGrants are the objects of the hub a cluster's agent may read: the
// Applications that deploy to it, and the Secrets and Projects they name.
type AgentGrants struct {
	Applications []string
	Secrets      []string
	Projects     []string
}

// AgentRole is the Role of the agent of cluster in namespace. RBAC cannot
// say "the Applications whose destination is X", so the Role lists them by
// name (resourceNames), and the controller rewrites it whenever the
// Applications of the cluster change (docs/agent.md). The agent watches the
// Role itself to learn which Applications are its own, and each object it
// names (a list or watch narrowed to one name by the field selector
// metadata.name is authorized as a read of that name). A rule whose list
// of names would be empty is left out: an empty resourceNames grants every
// name.
func AgentRole(namespace, cluster string, g AgentGrants) *rbacv1.Role {
	name := AgentName(cluster)
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}, ResourceNames: []string{name}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{flotillav1.GroupVersion.Group}, Resources: []string{"clusters"}, ResourceNames: []string{cluster}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{flotillav1.GroupVersion.Group}, Resources: []string{"clusters/status"}, ResourceNames: []string{cluster}, Verbs: []string{"get", "patch", "update"}},
	}
	if names := sorted(g.Applications); len(names) > 0 {
		rules = append(rules,
			rbacv1.PolicyRule{APIGroups: []string{flotillav1.GroupVersion.Group}, Resources: []string{"applications"}, ResourceNames: names, Verbs: []string{"get", "list", "watch"}},
			rbacv1.PolicyRule{APIGroups: []string{flotillav1.GroupVersion.Group}, Resources: []string{"applications/status"}, ResourceNames: names, Verbs: []string{"get", "patch", "update"}})
	}
	if names := sorted(g.Secrets); len(names) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: names, Verbs: []string{"get", "list", "watch"}})
	}
	if names := sorted(g.Projects); len(names) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{flotillav1.GroupVersion.Group}, Resources: []string{"projects"}, ResourceNames: names, Verbs: []string{"get", "list", "watch"}})
	}
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace,
			Labels: map[string]string{managedByLabel: "flotilla", flotillav1.ClusterLabel: cluster},
		},
		Rules: rules,
	}
}

// AgentGrantsOf reads back the grants of an agent's Role.
func AgentGrantsOf(role *rbacv1.Role) AgentGrants {
	var g AgentGrants
	for _, r := range role.Rules {
		if len(r.Resources) != 1 {
			continue
		}
		switch r.Resources[0] {
		case "applications":
			g.Applications = append(g.Applications, r.ResourceNames...)
		case "secrets":
			g.Secrets = append(g.Secrets, r.ResourceNames...)
		case "projects":
			g.Projects = append(g.Projects, r.ResourceNames...)
		}
	}
	return g
}

func sorted(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
