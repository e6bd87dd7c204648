package source

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/flotilla-dev/flotilla/internal/repourl"
)

// maxURLLength bounds a repository URL; real ones are far shorter.
const maxURLLength = 2048

// Schemes a repository URL may use. A scp-like address (user@host:path) is
// an ssh URL.
const (
	schemeHTTPS = "https"
	schemeHTTP  = "http"
	schemeSSH   = "ssh"
	schemeFile  = "file"
)

// sshPort is the port of ssh URLs that name none.
var sshPort, _ = repourl.DefaultPort(schemeSSH)

// remote is a repository URL that passed validation.
type remote struct {
	// raw is the URL as given, which is what git is handed: it passed checks
	// strict enough that git and this package read it alike.
	raw    string
	scheme string
	// origin is scheme://host[:port]/ for http(s), the prefix credentials
	// are scoped to.
	origin string
	// key names the repository in cache keys: scheme and host lower-case,
	// default port and trailing slashes dropped.
	key string
	// host and port are what git connects to (port with its default
	// filled in); empty for file://.
	host, port string
}

// ValidateURL reports whether raw is a repository URL this package would
// hand to git: https://, http://, ssh:// or scp-like user@host:path, and
// file:// only when allowLocal is set. The error wraps ErrInvalidURL and
// never repeats a password found in raw.
func ValidateURL(raw string, allowLocal bool) error {
	_, err := parseURL(raw, allowLocal)
	return err
}

func parseURL(raw string, allowLocal bool) (remote, error) {
	if err := checkURLChars(raw); err != nil {
		return remote{}, invalidURL(raw, err.Error())
	}
	var (
		r   remote
		err error
	)
	scheme, _, isURL := strings.Cut(raw, "://")
	switch {
	case strings.Contains(scheme, "::"):
		// git reads <transport>::<address> as "run git-remote-<transport>".
		err = fmt.Errorf("transport syntax (<transport>::<address>) not allowed")
	case isURL:
		r, err = parseSchemeURL(raw, scheme, allowLocal)
	default:
		r, err = parseSCP(raw)
	}
	if err != nil {
		return remote{}, invalidURL(raw, err.Error())
	}
	return r, nil
}

// checkURLChars refuses what no repository URL needs and what could make
// git read the URL as something else: a leading '-', control characters,
// spaces, non-ASCII, and punctuation outside a small set.
func checkURLChars(raw string) error {
	switch {
	case raw == "":
		return fmt.Errorf("empty")
	case len(raw) > maxURLLength:
		return fmt.Errorf("longer than %d bytes", maxURLLength)
	case raw[0] == '-':
		return fmt.Errorf("starts with '-'")
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("control character at byte %d", i)
		case c == ' ':
			return fmt.Errorf("space at byte %d", i)
		case c >= 0x80:
			return fmt.Errorf("non-ASCII byte at %d (percent-encode it)", i)
		case !urlChar(c):
			return fmt.Errorf("character %q not allowed", c)
		}
	}
	return nil
}

// nameChar reports whether c may appear in a host or user name.
func nameChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_'
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || isUpper(c) || '0' <= c && c <= '9'
}

func urlChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~/:@%+=,[]", c) >= 0
}

func parseSchemeURL(raw, scheme string, allowLocal bool) (remote, error) {
	switch scheme {
	case schemeHTTPS, schemeHTTP, schemeSSH:
	case schemeFile:
		if !allowLocal {
			return remote{}, fmt.Errorf("file:// URLs are allowed only for local development")
		}
	default:
		return remote{}, fmt.Errorf("scheme %q not allowed (use https, http or ssh)", scheme)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return remote{}, fmt.Errorf("does not parse")
	case u.Scheme != scheme || u.Opaque != "":
		return remote{}, fmt.Errorf("does not parse")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return remote{}, fmt.Errorf("query or fragment not allowed")
	}
	if err := checkPath(u.Path); err != nil {
		return remote{}, err
	}
	if scheme == schemeFile {
		if u.Host != "" || u.User != nil {
			return remote{}, fmt.Errorf("file:// URLs take no host (file:///path)")
		}
		return remote{raw: raw, scheme: scheme, key: "file://" + strings.TrimRight(u.Path, "/")}, nil
	}
	return parseNetworkURL(raw, scheme, u)
}

func parseNetworkURL(raw, scheme string, u *url.URL) (remote, error) {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if err := checkHost(host); err != nil {
		return remote{}, err
	}
	// Projects decide by the host repourl.Split reads; the fetch must
	// reach that host and no other.
	if cut := repourl.Split(raw); cut.Form != repourl.Scheme || !strings.EqualFold(cut.Host, u.Host) {
		return remote{}, fmt.Errorf("host is read differently by URL parsers")
	}
	if err := checkPort(u, port); err != nil {
		return remote{}, err
	}
	if strings.Trim(u.Path, "/") == "" {
		return remote{}, fmt.Errorf("no repository path")
	}
	user := ""
	if u.User != nil {
		if scheme != schemeSSH {
			return remote{}, fmt.Errorf("credentials in http(s) URLs are not allowed; pass them as credentials")
		}
		if _, has := u.User.Password(); has {
			return remote{}, fmt.Errorf("passwords in URLs are not allowed; pass credentials")
		}
		user = u.User.Username()
		if err := checkUser(user); err != nil {
			return remote{}, err
		}
		user += "@"
	}
	hostport := host
	if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	hostport = repourl.WithoutDefaultPort(scheme, hostport+":"+port)
	r := remote{raw: raw, scheme: scheme, host: host, port: port}
	if r.port == "" {
		r.port, _ = repourl.DefaultPort(scheme)
	}
	r.key = scheme + "://" + user + hostport + "/" + strings.Trim(u.EscapedPath(), "/")
	if scheme != schemeSSH {
		r.origin = scheme + "://" + hostport + "/"
	}
	return r, nil
}

// parseSCP reads git's scp-like form, [user@]host:path, which is ssh.
// Anything else without a scheme is a local path and is refused.
func parseSCP(raw string) (remote, error) {
	cut := repourl.Split(raw)
	if cut.Form != repourl.SCP {
		return remote{}, fmt.Errorf("local paths are not allowed (want https://, ssh:// or user@host:path)")
	}
	user, host, path := cut.User, strings.ToLower(cut.Host), cut.Path
	if cut.HasUser {
		if err := checkUser(user); err != nil {
			return remote{}, err
		}
	}
	if strings.ContainsAny(host, "[]") {
		return remote{}, fmt.Errorf("brackets not allowed in a scp-like host; use ssh://")
	}
	if host == schemeFile {
		return remote{}, fmt.Errorf("looks like a file URL; local repositories need file:// and local mode")
	}
	if err := checkHost(host); err != nil {
		return remote{}, err
	}
	switch {
	case strings.Trim(path, "/") == "":
		return remote{}, fmt.Errorf("no repository path")
	case path[0] == '-':
		return remote{}, fmt.Errorf("repository path starts with '-'")
	case strings.ContainsAny(path, "@:[]"):
		return remote{}, fmt.Errorf("characters '@', ':' and brackets not allowed in a scp-like path")
	}
	if err := checkPath(path); err != nil {
		return remote{}, err
	}
	if user != "" {
		user += "@"
	}
	// Relative scp paths start in the user's home folder, unlike ssh://
	// paths, so the key keeps the two forms apart.
	return remote{raw: raw, scheme: schemeSSH, key: "scp://" + user + host + ":" + strings.TrimRight(path, "/"),
		host: host, port: sshPort}, nil
}

// checkHost accepts DNS names and IP addresses. A host starting with '-'
// would reach ssh as an option.
func checkHost(host string) error {
	if host == "" {
		return fmt.Errorf("no host")
	}
	if host[0] == '-' {
		return fmt.Errorf("host starts with '-'")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	for i := 0; i < len(host); i++ {
		if !nameChar(host[i]) || isUpper(host[i]) {
			return fmt.Errorf("host %q has character %q", host, host[i])
		}
	}
	return nil
}

func checkPort(u *url.URL, port string) error {
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return fmt.Errorf("empty port")
		}
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

func checkUser(user string) error {
	if user == "" || user[0] == '-' {
		return fmt.Errorf("bad user name")
	}
	for i := 0; i < len(user); i++ {
		if !nameChar(user[i]) {
			return fmt.Errorf("bad user name")
		}
	}
	return nil
}

// checkPath checks a path after percent-decoding, since git decodes some
// forms: no control characters, no '-' at the start of a segment.
func checkPath(p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return fmt.Errorf("control character in path")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, "-") {
			return fmt.Errorf("path segment starts with '-'")
		}
	}
	return nil
}

// redactURL makes a URL that failed validation safe to print: userinfo is
// masked, the rest is quoted and cut short.
func redactURL(raw string) string {
	s := raw
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			s = s[:i+3] + "***" + rest[at:]
		}
	} else if at := strings.LastIndex(s, "@"); at >= 0 {
		s = "***" + s[at:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

func invalidURL(raw, reason string) error {
	return &Error{URL: redactURL(raw), Kind: ErrInvalidURL, Detail: reason}
}
