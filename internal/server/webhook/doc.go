// Package webhook turns push notifications into refreshes: POST
// /api/webhook takes the push events of GitHub, GitLab, Gitea (and Forgejo
// and Gogs) and Bitbucket (Cloud and Server), and POST /api/webhook/oci a
// pushed OCI artifact or Helm chart, authenticated by a bearer token.
//
// A push names a repository and the refs it moved. The Applications whose
// source is that repository (compared by host, port and path, so that the
// https, ssh and scp-like forms of one repository, with or without .git,
// are one) and whose targetRevision the push may have moved (the branch
// itself, HEAD or an empty revision for the default branch, a tag or a
// semver range a pushed tag satisfies) get the refresh annotation, and so do
// the Fleets whose template names them; the controller then resolves and
// fetches at once instead of at the next interval.
//
// Promises:
//   - Nothing of the body is parsed before the sender is authenticated: the
//     HMAC signature of GitHub (X-Hub-Signature-256, or X-Hub-Signature with
//     SHA-1), Gitea/Forgejo/Gogs and Bitbucket, GitLab's X-Gitlab-Token, or
//     the OCI bearer token is checked, in constant time, against the Secret
//     named by Options.SecretName in Options.Namespace. A provider whose key
//     the Secret lacks is refused: there are no unsigned webhooks.
//   - The body is bounded before it is read: a declared length over
//     Options.MaxBodyBytes is refused with 413 before a byte is read, and an
//     undeclared one is read through http.MaxBytesReader and refused as soon
//     as it passes the bound.
//   - A malformed or unexpected payload is a 400 with a message, never a
//     panic (a fuzz target covers the parsers).
//   - A storm becomes one fetch: pushes to one repository are coalesced,
//     the first at once and the rest at most once per Options.Window, so a
//     burst of a thousand pushes patches each matching Application a few
//     times, and the controller's source cache fetches each new commit once.
//   - A secret never appears in a response, an error or a log.
package webhook
