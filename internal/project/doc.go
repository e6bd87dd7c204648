// Package project is the policy of Projects, Flotilla's tenancy boundary:
// which sources an Application may use, where it may deploy, which kinds it
// may apply, as whom, and which users may act on it through the API.
//
// It is pure logic, with no I/O. The engine compiles the Application's
// Project and checks the source, the destination and every rendered object
// at each sync, before anything is applied (not only at admission); the API
// server runs the same checks, and Allows, on every call.
//
//	pol, err := project.Compile(proj)                   // nil: the built-in "default"
//	err = pol.CheckSource(app.Spec.Source.RepoURL)
//	err = pol.CheckDestination(cluster, namespace)
//	err = pol.CheckObjects(cluster, refs)               // kinds from the cluster's discovery
//
// # Patterns
//
// Every list of the Project holds globs: `*` matches any run of characters,
// none and '/' included (as in Argo CD: `https://git.example.com/team-a/*`
// matches team-a's repositories, also in subgroups); `?` matches one
// character; `\` makes the next character literal. `[`, `]`, `{` and `}`
// are reserved: character classes and alternatives are not supported, and
// a pattern written for a tool that has them is an error, not a pattern
// that silently matches nothing. Matching is case-sensitive, except the
// scheme and host of a repository URL. A pattern without wildcards matches
// exactly itself. No pattern may be empty, except a kind pattern's group:
// the empty group is the core group.
//
// A pattern starting with '!' denies: in sourceRepos, and on either field of
// a destination or of a clusterResourceWhitelist entry (the entry then
// denies what both fields match). Denials are checked after allows: a
// subject is allowed when an allowing pattern matches it and no denying one
// does, whatever their order. Denials alone allow nothing. A leading '!' is
// an error in namespaceResourceBlacklist (an entry there already denies)
// and in role policies.
//
// # Repository URLs
//
// URLs and sourceRepos patterns are normalized alike before matching:
// scheme and host in lower case, userinfo and default ports dropped,
// percent-escapes of unreserved characters decoded, a trailing ".git" or
// '/' removed. So https://User@Git.example.com:443/team-a/app.git/ is
// https://git.example.com/team-a/app. The scp-like form (git@host:org/app)
// is kept apart from ssh:// (its path is relative to the user's home); a
// pattern for it is written in the same form. A wildcard in a pattern's
// scheme or host stays inside them: `https://*.example.com/*` does not match
// https://evil.test/x.example.com/app. A pattern in neither form, such as
// `*`, is matched against the whole normalized URL. Paths stay
// case-sensitive, also for hosts that are not (a denial of
// https://github.com/org/secret does not deny .../org/Secret): allow what
// is needed rather than deny what is not.
//
// A URL that cannot be checked safely is refused whatever the patterns:
// one with a '.' or '..' path segment, a query or fragment, an encoded '/',
// '\' or control character, or characters no repository URL has.
//
// # Destinations
//
// An Application's destination namespace is allowed on a cluster when an
// allowing destination matches both, and no denying one does. An
// Application with no namespace deploys only what its objects name; it is
// allowed on a cluster that some destination allows, and each of its
// objects is checked by CheckObjects (write `*`, not an empty pattern, for
// any namespace).
//
// Flotilla's own namespace (Options.OwnNamespace, "flotilla-system" by
// default), on every cluster, is never a valid destination unless a
// destination of the Project that matches the cluster names it exactly,
// without wildcards: `*` or `flotilla-*` do not allow it. The objects there
// (Applications, cluster credentials, the controller itself) are the
// engine's; an Application that writes or prunes them can take it over.
// This holds for the built-in "default" Project too.
//
// The controller sets OwnNamespace to the namespace it runs in (its
// --namespace), so the rule follows it.
//
// # Secrets
//
// CheckSecret decides, from a Secret's name and labels, whether the
// Project's Applications and Fleets may name it as source credentials,
// verification or decryption keys: labelled v1alpha1.ProjectLabel with the
// Project's name, or matching spec.secrets, and matching no `!pattern`
// there. The built-in default allows every Secret. A Cluster's credentials
// are refused by the caller whatever the Project.
//
// # Objects
//
// CheckObjects checks what a render yields, with what the cluster's
// discovery says of each kind: a cluster-scoped kind must be in
// clusterResourceWhitelist, a namespaced kind must not be in
// namespaceResourceBlacklist, and a namespaced object's namespace must be
// an allowed destination on the cluster. A Namespace object is checked as
// the namespace it makes, since changing a namespace (its labels, its pod
// security level) is deploying to it.
//
// # The default Project
//
// An Application names a Project; "default" when it names none. When no
// Project named "default" exists, callers pass nil to Compile, which gives
// the built-in one: every source, every destination and every kind, but not
// Flotilla's own namespace, and no roles. A Project object named "default"
// is used as written, like any other: creating one is how an operator
// restricts the default.
//
// # Errors
//
// Compile refuses a Project with a broken pattern or name, naming each
// field and index (sourceRepos[2], destinations[0].namespace), with an
// error that wraps ErrInvalidProject. The checks return errors that wrap
// ErrViolation: a *ViolationError naming the Project, the rule (the field
// to change) and the subject, or for CheckObjects a *Violations listing
// every violation, sorted. No message ever holds a URL's userinfo; a name
// holding anything but printable characters is quoted.
//
// # Impersonation
//
// A Project with a ServiceAccount has its Applications act as that
// ServiceAccount of their destination namespace (ImpersonationUser), so the
// target cluster's RBAC has the last word. Whether it exists is checked in
// the destination cluster by the caller; a missing one is an error, never a
// fall-back to Flotilla's own identity.
package project
