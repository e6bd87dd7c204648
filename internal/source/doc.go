// Package source fetches what Flotilla deploys. For now that is git
// repositories, fetched with the git CLI; OCI artifacts and Helm
// repositories will join them here.
//
// A Client resolves a revision (a branch, a tag, a semver range over tags, a
// full ref or a full commit SHA) to a commit with `git ls-remote`, and
// fetches exactly that commit, shallow, into a cache folder keyed by the
// repository and the commit:
//
//	c, err := source.New(source.DefaultOptions())
//	art, err := c.Fetch(ctx, source.GitRequest{URL: url, Revision: "~1.2"})
//	defer art.Release()
//	// read art.Dir
//
// Promises:
//   - Render once: one fetch per (repository, commit), however many callers
//     ask at the same time; later callers reuse the checkout until the cache
//     evicts it. Eviction goes by least recent use, keeps the cache under
//     Options.MaxCacheBytes, and never removes a checkout an unreleased
//     Artifact holds.
//   - Every Resolve and Fetch lists the remote's refs with the caller's own
//     credentials, even for a commit SHA and even when the checkout is
//     cached, so a checkout is never handed to a caller that cannot read
//     the repository.
//   - URLs are checked before git runs: https, http, ssh:// and scp-like
//     user@host:path only, file:// only with Options.AllowLocal; no
//     transports such as ext:: or fd::, no option-like '-' where git or ssh
//     would read one, no control characters, spaces, queries or credentials
//     in the URL. A revision never reaches git's command line; only the
//     commit SHA it resolved to does.
//   - git runs with no system, global or user configuration and a private
//     empty HOME, allows only the URL's own transport, never prompts, never
//     follows a redirect (so credentials cannot cross to another host), runs
//     no hooks, fetches no submodules, checks received objects, and is
//     killed with its helpers at a time limit. Every remote read has a time
//     and a byte limit.
//   - Credentials travel in git's environment and in 0600 files that are
//     removed when the command ends, never in a URL, an argument or a
//     repository's configuration. https takes basic authentication or a
//     bearer token, scoped to the repository's origin; credentials over
//     plain http are refused. ssh takes a private key and needs known_hosts:
//     without it ssh is refused rather than trusting any host key.
//   - Errors are *Error values whose Kind (ErrAuth, ErrRevisionNotFound, …)
//     is checked with errors.Is. They name the repository (without
//     credentials) and the revision, and carry git's message with secrets,
//     URL userinfo and anything the server sent ("remote:" lines) removed.
//
// A checkout is the commit's files alone: no .git folder, no submodules, no
// Git LFS content (pointer files stay as they are). Symbolic links are
// checked out as links; the render step refuses those that leave the tree.
package source
