package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The kinds of failure, for decisions: check them with errors.Is. Every
// error this package returns is an *Error whose Kind is one of these (or,
// when the caller's context ended, context.Canceled or
// context.DeadlineExceeded).
var (
	// ErrInvalidURL: the repository URL is refused before git runs.
	ErrInvalidURL = errors.New("invalid repository URL")
	// ErrInvalidRevision: the revision cannot be a branch, tag, semver range
	// or commit (control characters, too long, a bad semver range).
	ErrInvalidRevision = errors.New("invalid revision")
	// ErrCredentials: the credentials given cannot be used as they are (for
	// example ssh without known_hosts, or a password over plain http).
	ErrCredentials = errors.New("unusable credentials")
	// ErrAuth: the server refused the credentials, or asked for some.
	ErrAuth = errors.New("authentication failed")
	// ErrHostVerification: the server's identity could not be verified (an
	// unknown or changed ssh host key, an untrusted TLS certificate).
	ErrHostVerification = errors.New("server identity not verified")
	// ErrAddressRefused: the repository's host is, or resolves to, an
	// address of a class the Client does not connect to (see AddressClass):
	// loopback without Options.AllowLoopback, link-local, unspecified,
	// multicast, or private with Options.DenyPrivate. Nothing was sent.
	ErrAddressRefused = errors.New("address refused")
	// ErrUnreachable: the server could not be reached or broke off.
	ErrUnreachable = errors.New("repository unreachable")
	// ErrRepositoryNotFound: the server has no such repository.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: no branch, tag or commit matches the revision.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrTimeout: a git command ran past its time limit.
	ErrTimeout = errors.New("timed out")
	// ErrTooLarge: the ref listing or the checkout passed its byte limit.
	ErrTooLarge = errors.New("too large")
	// ErrGit: any other failure of git or of the local disk.
	ErrGit = errors.New("git failed")
	// ErrUnverified: the revision carries no signature by a trusted key, or
	// the trusted keys cannot be used.
	ErrUnverified = errors.New("signature not verified")
	// ErrProviderMismatch comes with ErrUnverified when the Verification
	// cannot apply to the kind of source at all (cosign for git, ssh or gpg
	// for OCI, any provider for an index-based Helm repository): a mistake
	// in the spec, which no revision can pass.
	ErrProviderMismatch = errors.New("verification provider does not fit the source")
	// ErrUnsafeArchive: an archive breaks a safety rule (an entry outside
	// its folder, a link, too many files or bytes) and nothing of it is used.
	ErrUnsafeArchive = errors.New("unsafe archive")
	// ErrInvalidIndex: a Helm repository index cannot be read (not YAML,
	// too large, too many entries).
	ErrInvalidIndex = errors.New("invalid Helm repository index")
	// ErrRegistry: any other failure of an OCI registry or a Helm repository
	// server, or of the local disk while storing what they sent.
	ErrRegistry = errors.New("registry failed")
)

// Error is a failure to resolve or fetch one revision of one repository.
// It never holds a credential: git's messages are scrubbed before they are
// kept.
type Error struct {
	// Type is the kind of source: "git" (when empty), "oci" or "helm".
	Type string
	// Op is "resolve" or "fetch"; empty for a URL refused by ValidateURL.
	Op string
	// URL names the repository, without credentials.
	URL string
	// Revision is the revision as asked; empty means the default branch.
	Revision string
	// Kind is one of the Err* values above.
	Kind error
	// Detail says what happened, in git's words where git said it.
	Detail string
	cause  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Type == "" {
		b.WriteString("git ")
	} else {
		b.WriteString(e.Type + " ")
	}
	b.WriteString(e.URL)
	if e.Op != "" {
		if e.Revision == "" && e.Type == "" {
			b.WriteString(" (default branch)")
		} else if e.Revision == "" {
			b.WriteString(" (latest)")
		} else {
			fmt.Fprintf(&b, " (revision %q)", e.Revision)
		}
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns Kind, and the underlying cause when there is one.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

// in returns a copy of e that names op, the repository and the revision.
func (e *Error) in(op, url, revision string) *Error {
	c := *e
	c.Op, c.URL, c.Revision = op, url, revision
	return &c
}

// asError turns any error into an *Error of op on the repository.
func asError(err error, op, url, revision string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e.in(op, url, revision)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, URL: url, Revision: revision, Kind: err, Detail: "cancelled"}
	}
	return &Error{Op: op, URL: url, Revision: revision, Kind: ErrGit, Detail: err.Error(), cause: err}
}

// classify maps git's error output (LC_ALL=C) to a kind of failure. The
// first rule that matches wins, so the more specific come first: ssh prints
// "Could not read from remote repository" after an authentication failure.
func classify(stderr string) error {
	s := strings.ToLower(stderr)
	for _, rule := range classifyRules {
		for _, m := range rule.markers {
			if strings.Contains(s, m) {
				return rule.kind
			}
		}
	}
	return ErrGit
}

var classifyRules = []struct {
	kind    error
	markers []string
}{
	{ErrHostVerification, []string{
		"host key verification failed", "remote host identification has changed",
		"ssl certificate problem", "server certificate verification failed",
		"certificate verify failed", "ssl: no alternative certificate subject name",
		"the certificate is not trusted",
	}},
	{ErrAuth, []string{
		"authentication failed", "could not read username", "could not read password",
		"terminal prompts disabled", "permission denied (", "permission denied, please try again",
		"returned error: 401", "returned error: 403", "too many authentication failures",
		"invalid username or password", "access denied",
	}},
	{ErrRepositoryNotFound, []string{
		"repository not found", "returned error: 404", "does not appear to be a git repository",
		"not a git repository", "' not found",
	}},
	{ErrRevisionNotFound, []string{
		"couldn't find remote ref", "not our ref", "no such remote ref", "unadvertised object",
		"did not send all necessary objects", "reference is not a tree", "bad object",
	}},
	{ErrUnreachable, []string{
		"could not resolve host", "failed to connect", "connection refused", "connection timed out",
		"connection reset", "network is unreachable", "no route to host", "ssh: connect to host",
		"could not resolve hostname", "could not read from remote repository", "unable to access",
		"empty reply from server", "the remote end hung up", "early eof", "operation timed out",
		"returned error: 5", "returned error: 3", "rpc failed", "connection closed by",
		"kex_exchange_identification", "recv failure", "send failure",
	}},
}
