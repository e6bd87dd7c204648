package rbac

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
)

// The built-in roles.
const (
	RoleAdmin    = "admin"
	RoleReadonly = "readonly"
	RoleNone     = "none"
)

// GroupPrefix marks an entry of Options.Admins or Options.Readonly that
// names a group rather than a user: "group:ops".
const GroupPrefix = "group:"

// Verbs are every verb the API checks.
var Verbs = []string{
	"applications:get", "applications:create", "applications:update", "applications:delete",
	"applications:sync", "applications:rollback",
	"logs:get",
	"clusters:get", "clusters:create", "clusters:delete",
	"fleets:get", "fleets:rollout",
	"projects:get", "projects:create", "projects:update", "projects:delete",
}

// Options configures New.
type Options struct {
	// Projects finds a Project by namespace and name (from the server's
	// informer); false when there is none.
	Projects func(namespace, name string) (*flotillav1.Project, bool)
	// DefaultRole is the role of every authenticated caller that is
	// neither an admin nor readonly by Admins and Readonly: "readonly", or
	// "none" (the default, also written ""). Project roles add to it.
	DefaultRole string
	// Admins and Readonly give the built-in roles: each entry is a user
	// name, or "group:NAME" for every member of a group. The local
	// account "admin" is always an admin.
	Admins, Readonly []string
}

// Authorizer answers whether a caller may do a verb. It is safe for
// concurrent use.
type Authorizer struct {
	projects      func(namespace, name string) (*flotillav1.Project, bool)
	defaultRO     bool
	admins        members
	readonly      members
	mu            sync.Mutex
	compiled      map[string]compiledProject
	maxCacheItems int
}

type compiledProject struct {
	version string
	policy  *project.Policy
}

// members is a set of users and groups.
type members struct{ users, groups []string }

func parseMembers(list []string) members {
	var m members
	for _, e := range list {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case strings.HasPrefix(e, GroupPrefix):
			if g := strings.TrimPrefix(e, GroupPrefix); g != "" {
				m.groups = append(m.groups, g)
			}
		default:
			m.users = append(m.users, e)
		}
	}
	return m
}

func (m members) has(p *auth.Principal) bool {
	return slices.Contains(m.users, p.Username) ||
		slices.ContainsFunc(m.groups, func(g string) bool { return slices.Contains(p.Groups, g) })
}

// New returns an Authorizer, or an error naming a bad DefaultRole.
func New(opts Options) (*Authorizer, error) {
	a := &Authorizer{
		projects: opts.Projects, admins: parseMembers(opts.Admins), readonly: parseMembers(opts.Readonly),
		compiled: map[string]compiledProject{}, maxCacheItems: 10000,
	}
	switch opts.DefaultRole {
	case "", RoleNone:
	case RoleReadonly:
		a.defaultRO = true
	default:
		return nil, fmt.Errorf("rbac: default role %q: want %q or %q", opts.DefaultRole, RoleReadonly, RoleNone)
	}
	return a, nil
}

// IsAdmin reports whether p has the built-in admin role.
func (a *Authorizer) IsAdmin(p *auth.Principal) bool {
	return p != nil && ((p.Local && p.Username == auth.AdminAccount) || a.admins.has(p))
}

// Can reports whether p may do verb, such as "applications:sync". For
// verbs on an Application, a Fleet or a Project, namespace and project
// name the Project it belongs to (an Application's spec.project, or the
// Project itself), whose roles are consulted; for clusters only the
// built-in roles count. An unknown verb is refused.
func (a *Authorizer) Can(p *auth.Principal, verb string, namespace, projectName string) bool {
	if p == nil || !slices.Contains(Verbs, verb) {
		return false
	}
	if a.IsAdmin(p) {
		return true
	}
	if strings.HasSuffix(verb, ":get") && (a.defaultRO || a.readonly.has(p)) {
		return true
	}
	if projectName == "" || strings.HasPrefix(verb, "clusters:") {
		return false
	}
	pol := a.policy(namespace, projectName)
	return pol != nil && pol.Allows(p.Username, p.Groups, verb)
}

// policy compiles a Project once per resourceVersion. A Project that does
// not exist or does not compile grants nothing.
func (a *Authorizer) policy(namespace, name string) *project.Policy {
	if a.projects == nil {
		return nil
	}
	obj, ok := a.projects(namespace, name)
	if !ok || obj == nil {
		return nil
	}
	key := namespace + "/" + name
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.compiled[key]; ok && c.version == obj.ResourceVersion && obj.ResourceVersion != "" {
		return c.policy
	}
	pol, err := project.Compile(obj)
	if err != nil {
		return nil
	}
	if len(a.compiled) >= a.maxCacheItems {
		clear(a.compiled)
	}
	a.compiled[key] = compiledProject{version: obj.ResourceVersion, policy: pol}
	return pol
}

// Allowed answers the verbs p may do, for the web UI to show only the
// buttons p may use: under "*" those of the built-in roles (on every
// Project, and the clusters' verbs), and under each Project of namespace
// named in projects the verbs its roles add. The server still checks
// every request with Can.
func (a *Authorizer) Allowed(p *auth.Principal, namespace string, projects []string) map[string][]string {
	out := map[string][]string{}
	global := map[string]bool{}
	for _, verb := range Verbs {
		if a.Can(p, verb, namespace, "") {
			global[verb] = true
			out["*"] = append(out["*"], verb)
		}
	}
	for _, name := range projects {
		for _, verb := range Verbs {
			if !global[verb] && !strings.HasPrefix(verb, "clusters:") && a.Can(p, verb, namespace, name) {
				out[name] = append(out[name], verb)
			}
		}
	}
	return out
}
