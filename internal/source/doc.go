// Package source fetches what Flotilla deploys: git repositories (with the
// git CLI), charts of index-based Helm repositories, Helm charts in OCI
// registries, and OCI artifacts as `flux push artifact` writes them.
//
// A Request names one revision of any of them; Get returns its content,
// unpacked into a read-only folder of a cache keyed by repository and
// content:
//
//	c, err := source.New(source.DefaultOptions())
//	art, err := c.Get(ctx, source.Request{URL: "oci://registry.example.com/apps/web", Revision: "~1.2"})
//	defer art.Release()
//	// read art.Dir; art.ID() is "v1.2.3@sha256:…"
//
// A git revision (a branch, a tag, a semver range over tags, a full ref or
// a full commit SHA) resolves to a commit with `git ls-remote`; an OCI
// revision to a manifest digest by tag, semver range over the tags, or
// digest; a chart's to a version (exact or a semver range) and the digest
// of its archive or manifest. Artifact.ID names what was fetched (the
// commit, or "<tag or version>@sha256:…"); Get takes it back and fetches
// the same content or fails, and Pin resolves a revision to such a name.
//
// Promises:
//   - Render once: one fetch per (repository, commit or digest), however
//     many callers ask at the same time; later callers reuse the checkout
//     until the cache evicts it. Eviction goes by least recent use, keeps the
//     cache under Options.MaxCacheBytes, and never removes a checkout an
//     unreleased Artifact holds.
//   - Every Resolve and Fetch asks the server with the caller's own
//     credentials, even for a commit SHA or a digest and even when the
//     content is cached (a Helm index may be reused for 30 seconds, for the
//     same repository and credentials only), so content is never handed to
//     a caller that cannot read the repository.
//   - URLs are checked before any request. git: https, http, ssh:// and
//     scp-like user@host:path only, file:// only with Options.AllowLocal; no
//     transports such as ext:: or fd::, no option-like '-' where git or ssh
//     would read one, no control characters, spaces, queries or credentials
//     in the URL. A revision never reaches git's command line; only the
//     commit SHA it resolved to does. OCI: oci://host[:port]/repository,
//     without tag, digest, credentials or query. Helm repositories: https,
//     or http without credentials. Chart names: letters, digits, '-', '_'
//     and '.', no path.
//   - Every connection goes to an address the Client checked: host names
//     are resolved by Options.Resolver and each address is classed
//     (AddressClass); loopback is refused unless Options.AllowLoopback,
//     private when Options.DenyPrivate is set, link-local (cloud metadata),
//     unspecified and multicast always (ErrAddressRefused, naming the
//     class). HTTP clients dial the checked addresses, and a net.Dialer
//     Control function checks each socket's address again, redirects
//     included; git is handed the checked addresses (http.curloptResolve,
//     ssh's HostName) so that it never resolves the name itself.
//   - git runs with no system, global or user configuration and a private
//     empty HOME, allows only the URL's own transport, never prompts, never
//     follows a redirect, runs no hooks, fetches no submodules, checks
//     received objects, and is killed with its helpers at a time limit.
//     Registries and Helm repositories are reached over TLS 1.2 or newer
//     (OCI registries over https only), with no proxy from the environment;
//     downloads follow at most five redirects, never from https to http,
//     dropping the credentials for any other host or port (a CDN). Every
//     remote read has a time and a byte limit.
//   - Credentials travel in git's environment and in 0600 files that are
//     removed when the command ends, never in a URL, an argument or a
//     repository's configuration; https takes basic authentication or a
//     bearer token, scoped to the repository's origin, and never over plain
//     http; ssh takes a private key and needs known_hosts, without which it
//     is refused rather than trusting any host key. CACert replaces the
//     system's roots. A Helm repository's credentials go to its origin only:
//     a chart listed on another host is downloaded without them. An
//     OCI registry's go to the registry and to the token service its
//     challenge names, as in the distribution token protocol.
//   - Content is checked against the digest that names it (a chart archive
//     against the index's sha256, OCI manifests and layers against their
//     descriptors) before anything of it reaches the cache.
//   - Archives (OCI layers, chart archives) are unpacked through an os.Root,
//     within MaxCheckoutBytes of uncompressed stream and 10,000 entries;
//     links, devices, absolute names, "..", duplicates, and a chart archive
//     that is not one folder named after its chart are refused
//     (ErrUnsafeArchive, naming the entry), and nothing of it is kept. A
//     Helm index is bounded in bytes, charts and versions (ErrInvalidIndex),
//     YAML aliases included.
//   - With a Verification, nothing of an unsigned revision is used
//     (ErrUnverified): a git commit must carry an SSH or OpenPGP signature by
//     a trusted key, checked at every Fetch, cached or not; an OCI manifest a
//     cosign signature in the classic .sig layout, by a trusted public key
//     or keyless (a certificate chaining to trusted roots, with a matching
//     issuer and subject and a Rekor bundle verified with a trusted log
//     key), checked offline (no online Rekor, Fulcio or TUF; new-format
//     bundles are not read) before any layer is downloaded. Charts of
//     index-based repositories carry no signature and are refused.
//   - Errors are *Error values whose Kind (ErrAuth, ErrRevisionNotFound, …)
//     is checked with errors.Is. They name the kind of source, the
//     repository (without credentials) and the revision in Flotilla's
//     words. What git printed, which may hold a server's words (a "remote
//     error:" line, an ssh server's stderr), is kept only as a quoted
//     excerpt: its last two lines, each cut to 120 bytes, printable ASCII,
//     with secrets, URL userinfo and credential-like values masked; git's
//     "remote:" lines and the bodies of Helm repository and registry
//     responses are left out (the cosign check keeps its library's message,
//     credentials scrubbed).
//
// A git checkout is measured before it is written: the files and bytes
// the commit's tree names (`git ls-tree -r -l`, read as git writes it and
// stopped at the first entry past a limit) must stay within
// Options.MaxCheckoutFiles and MaxCheckoutBytes, or nothing is checked out
// (ErrTooLarge).
//
// A git checkout is the commit's files alone: no .git folder, no submodules,
// no Git LFS content (pointer files stay as they are). Symbolic links are
// checked out as links; the render step refuses those that leave the tree.
package source
