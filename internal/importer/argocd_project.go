package importer

import (
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/flotilla-dev/flotilla/internal/server/rbac"
)

func argoProject(o *object, res *Result) {
	doc := header("Project", o.name, o.get("metadata.labels"))
	spec := newMapping()
	spec.set("sourceRepos", strs(stringsOf(o.list("spec.sourceRepos"))))
	dests := seq()
	for i := range o.count("spec.destinations") {
		p := fmt.Sprintf("spec.destinations.%d", i)
		d := newMapping()
		name, server := o.str(p+".name"), o.str(p+".server")
		switch {
		case name != "":
			d.str("cluster", name)
		case server == "*" || server == "":
			d.str("cluster", "*")
		case server == inClusterServer:
			d.str("cluster", "in-cluster")
		default:
			k := d.str("cluster", clusterName(server))
			k.LineComment = "was server: " + server
			res.decide(o.ref(), "destination server %s: use the name its Flotilla Cluster is registered under", server)
		}
		d.str("namespace", o.str(p+".namespace"))
		dests.Content = append(dests.Content, d.node)
	}
	spec.set("destinations", dests)
	spec.set("clusterResourceWhitelist", groupKinds(o, "spec.clusterResourceWhitelist"))
	spec.set("namespaceResourceBlacklist", groupKinds(o, "spec.namespaceResourceBlacklist"))
	if n := o.count("spec.destinationServiceAccounts"); n > 0 {
		res.decide(o.ref(), "spec.destinationServiceAccounts has %d entries; a Flotilla Project impersonates one serviceAccount in every destination namespace: choose it", n)
	}
	spec.set("roles", argoRoles(o, res))
	doc.sub("spec", spec)
	res.add(o, argoTool, "Project", doc.node)
}

func groupKinds(o *object, p string) *yaml.Node {
	out := seq()
	for i := range o.count(p) {
		gk := newMapping()
		gk.set("group", str(o.str(fmt.Sprintf("%s.%d.group", p, i))))
		gk.set("kind", str(o.str(fmt.Sprintf("%s.%d.kind", p, i))))
		gk.node.Style = yaml.FlowStyle
		out.Content = append(out.Content, gk.node)
	}
	return out
}

// argoRoles converts each role's groups and its allow policies. Argo CD's
// policy lines are Casbin rows: p, <subject>, <resource>, <action>,
// <object>, <effect>; Flotilla's are resource:action over the whole Project.
func argoRoles(o *object, res *Result) *yaml.Node {
	out := seq()
	for i := range o.count("spec.roles") {
		p := fmt.Sprintf("spec.roles.%d", i)
		role := newMapping()
		name := o.str(p + ".name")
		role.str("name", name)
		role.set("groups", strs(stringsOf(o.list(p+".groups"))))
		var policies []string
		for j, line := range stringsOf(o.list(p + ".policies")) {
			f := strings.Split(line, ",")
			for k := range f {
				f[k] = strings.TrimSpace(f[k])
			}
			if len(f) != 6 || f[0] != "p" || f[5] != "allow" {
				res.decide(o.ref(), "role %s, policy %d (%s): only allow rules convert; express it with the roles Flotilla has", name, j, line)
				continue
			}
			if f[4] != o.name+"/*" && f[4] != "*" && f[4] != "*/*" {
				res.decide(o.ref(), "role %s, policy %d grants %s %s on %s only; a Flotilla role covers the whole Project", name, j, f[2], f[3], f[4])
			}
			verbs := flotillaVerbs(f[2], f[3])
			if len(verbs) == 0 {
				res.decide(o.ref(), "role %s, policy %d (%s %s): Flotilla has no such permission", name, j, f[2], f[3])
			}
			policies = append(policies, verbs...)
		}
		role.set("policies", strs(policies))
		if o.count(p+".jwtTokens") > 0 {
			res.decide(o.ref(), "role %s has JWT tokens; Flotilla issues its own (flotilla login): hand out new ones", name)
		}
		out.Content = append(out.Content, role.node)
	}
	return out
}

// flotillaVerbs are the Flotilla permissions an Argo CD resource and action
// grant: one, every verb of the resource for "*", or none.
func flotillaVerbs(resource, action string) []string {
	var out []string
	for _, v := range rbac.Verbs {
		r, a, _ := strings.Cut(v, ":")
		if r == resource && (a == action || action == "*") {
			out = append(out, v)
		}
	}
	if !slices.Contains(out, resource+":"+action) && action != "*" {
		return nil
	}
	return out
}
