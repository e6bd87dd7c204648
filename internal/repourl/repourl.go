package repourl

import "strings"

// Form says how a repository URL is written.
type Form int

const (
	// Plain is anything else, such as a local path or a Project pattern
	// like `*`.
	Plain Form = iota
	// Scheme is scheme://[userinfo@]host[:port]/path.
	Scheme
	// SCP is git's scp-like [user@]host:path, which is ssh. Its path is
	// relative to the user's home folder, unlike an ssh:// path, so the two
	// forms name different repositories.
	SCP
)

// URL is a repository URL cut into the parts of its identity.
type URL struct {
	Form Form
	// Scheme is the text before "://" (Scheme form only), as written.
	Scheme string
	// User is the userinfo, up to the last '@' of the authority (or of the
	// host part of the SCP form), without the '@'; HasUser tells an empty
	// userinfo from none.
	User    string
	HasUser bool
	// Host is host[:port] (Scheme form; an IPv6 address keeps its
	// brackets) or the host (SCP form), as written; empty for Plain.
	Host string
	// Path is everything after the host: for the Scheme form it starts
	// with '/', '?' or '#' or is empty; for the SCP form it is the text
	// after the ':'; for Plain, the whole text.
	Path string
}

// Split cuts s as git's URL readers do: the Scheme form when s starts with
// a scheme and "://", where the authority ends at the first '/', '?', '#'
// or '\' and the userinfo runs to the last '@' before that; otherwise the
// SCP form when a ':' comes before any '/' or '\'; otherwise Plain.
//
// A scheme is ASCII letters, digits, '+', '-' and '.'; non-ASCII runes are
// accepted too, so that a Project's compiled patterns, whose wildcards are
// private-use runes, are cut as the URLs they match.
func Split(s string) URL {
	if i := strings.Index(s, "://"); i > 0 && isSchemeText(s[:i]) {
		rest := s[i+len("://"):]
		end := strings.IndexAny(rest, `/?#\`)
		if end < 0 {
			end = len(rest)
		}
		u := URL{Form: Scheme, Scheme: s[:i], Path: rest[end:]}
		u.User, u.Host, u.HasUser = cutUser(rest[:end])
		return u
	}
	if i := strings.IndexByte(s, ':'); i > 0 && !strings.ContainsAny(s[:i], `/\`) {
		u := URL{Form: SCP, Path: s[i+1:]}
		u.User, u.Host, u.HasUser = cutUser(s[:i])
		return u
	}
	return URL{Form: Plain, Path: s}
}

func cutUser(authority string) (user, host string, ok bool) {
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		return authority[:at], authority[at+1:], true
	}
	return "", authority, false
}

func isSchemeText(s string) bool {
	for _, r := range s {
		ok := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			r == '+' || r == '-' || r == '.' || r >= 0x80
		if !ok {
			return false
		}
	}
	return true
}

// String writes u back without its userinfo: credentials are never part
// of a repository's identity.
func (u URL) String() string {
	switch u.Form {
	case Scheme:
		return u.Scheme + "://" + u.Host + u.Path
	case SCP:
		return u.Host + ":" + u.Path
	default:
		return u.Path
	}
}

// defaultPorts are the ports a URL of each scheme reaches when it names
// none. "oci" is https.
var defaultPorts = map[string]string{"https": "443", "http": "80", "ssh": "22", "oci": "443"}

// DefaultPort returns the port a URL of scheme (lower case) reaches when it
// names none, and whether the scheme has one.
func DefaultPort(scheme string) (string, bool) {
	p, ok := defaultPorts[scheme]
	return p, ok
}

// WithoutDefaultPort drops ":<default port of scheme>" and an empty port
// from the end of hostport, so that https://h:443/x and https://h/x are
// one repository.
func WithoutDefaultPort(scheme, hostport string) string {
	if p, ok := defaultPorts[scheme]; ok {
		hostport = strings.TrimSuffix(hostport, ":"+p)
	}
	return strings.TrimSuffix(hostport, ":")
}

// SameOrigin says whether a and b, both of the Scheme form, have the same
// scheme, host and port, a default port written or not, in any case:
// whether a credential given for one may go with a request to the other.
// Userinfo and paths do not count; an SCP or Plain URL is no origin.
func SameOrigin(a, b string) bool {
	x, y := Split(a), Split(b)
	if x.Form != Scheme || y.Form != Scheme || !strings.EqualFold(x.Scheme, y.Scheme) {
		return false
	}
	scheme := strings.ToLower(x.Scheme)
	return strings.EqualFold(WithoutDefaultPort(scheme, x.Host), WithoutDefaultPort(scheme, y.Host))
}
