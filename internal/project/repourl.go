package project

import (
	"strconv"
	"strings"

	"github.com/flotilla-dev/flotilla/internal/repourl"
)

// maxURLLen bounds a repository URL; real ones are far shorter.
const maxURLLen = 2048

// normalize puts r in the form that matching compares: scheme and host in
// lower case (ASCII only: a non-ASCII host matches no ASCII pattern), no
// default or empty port, percent-escapes of unreserved characters decoded
// and the others in upper case, and no trailing ".git" or '/' in the path.
// Userinfo is dropped: credentials are never matched and never shown. ok is
// false when a percent-escape is malformed or encodes a '/', '\' or
// control character; a URL with one is refused, a pattern keeps it as is.
func normalize(r repourl.URL) (_ repourl.URL, ok bool) {
	var hostOK, pathOK bool
	r.User, r.HasUser = "", false
	r.Host, hostOK = normalizePercent(r.Host)
	r.Path, pathOK = normalizePercent(r.Path)
	r.Scheme, r.Host = lowerASCII(r.Scheme), lowerASCII(r.Host)
	r.Host = repourl.WithoutDefaultPort(r.Scheme, r.Host)
	r.Path = strings.TrimRight(r.Path, "/")
	r.Path = strings.TrimSuffix(r.Path, ".git")
	r.Path = strings.TrimRight(r.Path, "/")
	return r, hostOK && pathOK
}

func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// normalizePercent decodes the percent-escapes of unreserved characters
// (RFC 3986, section 6.2.2.2), since servers read %61 as 'a' and a deny
// pattern must not be dodged by spelling a name differently, and writes the
// other escapes' hex digits in upper case.
func normalizePercent(s string) (_ string, ok bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	ok = true
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			ok = false
			b.WriteByte('%')
			continue
		}
		c := byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		if c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			ok = false
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&0xf, 16)))
	}
	return b.String(), ok
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// normalizeRepoPattern normalizes a compiled sourceRepos pattern as URLs are
// normalized, and keeps its scheme and host wildcards inside the scheme and
// host (see hostStop). A wildcard that ends the whole pattern, as in
// `https://*`, is left free to match the rest of the URL.
func normalizeRepoPattern(compiled string) string {
	r, _ := normalize(repourl.Split(compiled))
	if r.Form == repourl.Plain {
		return r.String()
	}
	bound := func(s string, keepLast bool) string {
		rs := []rune(s)
		for i, c := range rs {
			if keepLast && i == len(rs)-1 {
				break
			}
			switch c {
			case wildRun:
				rs[i] = hostRun
			case wildOne:
				rs[i] = hostOne
			}
		}
		return string(rs)
	}
	r.Scheme = bound(r.Scheme, false)
	r.Host = bound(r.Host, r.Path == "")
	return r.String()
}

// normalizeRepoURL normalizes a repository URL for matching. It returns a
// non-empty problem when the URL cannot be checked safely: characters no
// repository URL has, a query or fragment, a malformed or dangerous
// percent-escape, or a '.' or '..' path segment (which a server resolves,
// so that https://h/team-a/../team-b/x is really team-b's).
func normalizeRepoURL(raw string) (normalized, problem string) {
	r, ok := normalize(repourl.Split(raw))
	normalized = r.String()
	switch {
	case raw == "":
		return normalized, "is empty"
	case len(raw) > maxURLLen:
		return normalized, "is longer than " + strconv.Itoa(maxURLLen) + " bytes"
	case strings.ContainsFunc(raw, func(c rune) bool { return c <= ' ' || c >= 0x7f || c == '\\' }):
		return normalized, "has a space, a backslash, a control or a non-ASCII character (percent-encode it)"
	case strings.ContainsAny(raw, "?#"):
		return normalized, "has a query or fragment"
	case !ok:
		return normalized, "has a malformed percent-escape, or one that encodes '/', '\\' or a control character"
	case hasDotSegment(r.Path):
		return normalized, "has a '.' or '..' path segment"
	}
	return normalized, ""
}

func hasDotSegment(path string) bool {
	for seg := range strings.FieldsFuncSeq(path, func(c rune) bool { return c == '/' || c == '?' || c == '#' }) {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// hideUserinfo hides whatever could be userinfo in a URL or pattern, for
// messages: everything after the scheme (or from the start) to the last '@'
// becomes "…". It errs on the side of hiding too much, because a password
// with an unescaped '/', '?' or '#' puts its '@' where no parser looks for
// userinfo; a well-formed URL has lost its userinfo in normalization and
// has no '@' left.
func hideUserinfo(s string) string {
	neg := ""
	if strings.HasPrefix(s, "!") {
		neg, s = "!", s[1:]
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + len("://")
	}
	if at := strings.LastIndexByte(s[start:], '@'); at >= 0 {
		s = s[:start] + "…" + s[start+at:]
	}
	return neg + s
}

// displayURL is how a normalized URL appears in a message: with no
// userinfo, no query or fragment (they may hold tokens), cut to a readable
// length, and quoted when it holds anything but printable ASCII.
func displayURL(normalized string) string {
	const maxShown = 200
	s := hideUserinfo(normalized)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + "…"
	}
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	if s == "" || strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c >= 0x7f && c != '…' }) {
		return strconv.QuoteToASCII(s)
	}
	return s
}
