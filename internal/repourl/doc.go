// Package repourl reads a repository URL's identity the way git does: its
// form (scheme://… or git's scp-like user@host:path), scheme, userinfo,
// host and port, and path, with one table of default ports.
//
// Two parts of Flotilla read repository URLs: internal/source, which
// connects to them, and internal/project, which decides whether a Project
// allows them. If the two cut a URL differently, a Project could allow one
// host while the fetch reaches another. Both cut with Split and drop
// default ports with DefaultPort, so they cannot disagree on which host a
// URL names.
//
// Split checks nothing: validating a URL (which schemes, which characters)
// stays with each reader, which refuses for its own reasons.
package repourl
