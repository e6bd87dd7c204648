// Package rbac decides what an authenticated caller of Flotilla's API may
// do: the built-in roles "admin" (every verb everywhere) and "readonly"
// (every "*:get" verb, logs:get too, everywhere), given to users and groups
// by the server's configuration; the roles of each Project, which grant
// verbs on that Project's Applications and Fleets and on the Project
// itself; and a default role for everyone else.
//
// Verbs are "resource:action" (see docs/api.md, "Authorization").
package rbac
