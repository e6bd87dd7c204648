// Package auth authenticates the callers of Flotilla's API server.
//
// It keeps local accounts (the built-in "admin", whose random initial
// password is shown once in the Secret "flotilla-initial-admin", and more
// accounts from the ConfigMap/Secret pair "flotilla-accounts"), signs
// sessions as JWTs with a key kept in the Secret "flotilla-session-keys"
// (a current and a previous key both verify, so the key can be rotated),
// revokes them on logout and password change, limits failed logins per
// user and per client address, and logs users in through an OpenID
// Connect provider (authorization code with PKCE).
//
// Everything it must remember across a restart of the server (the keys,
// the revoked sessions, the failed logins) is kept in the hub, in the
// server's namespace; the server itself keeps only caches of it.
//
// Passwords, tokens, the OIDC client secret and the signing keys never
// appear in a response, an error or a log line.
package auth
