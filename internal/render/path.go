package render

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxPathLen bounds a path given in a request; real repository paths are far
// shorter, and the bound keeps error messages and cache keys small.
const maxPathLen = 4096

// cleanRequestPath checks a path given by the user (Request.Path) and returns
// it cleaned, slash-separated and relative to the root ("" for the root
// itself). The check is lexical: it reads nothing, so a refused path gets the
// same error whether its target exists or not (reliability checklist item 2).
func cleanRequestPath(p string) (string, error) {
	if why := badPathReason(p); why != "" {
		return "", &Error{Kind: ErrInvalidPath, Msg: "path " + quoteShort(p) + " " + why}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	return c, nil
}

func badPathReason(p string) string {
	switch {
	case len(p) > maxPathLen:
		return "is too long"
	case strings.IndexByte(p, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(p):
		return "is not valid UTF-8"
	case hasControl(p):
		return "contains a control character"
	case strings.Contains(p, `\`):
		return "contains a backslash; use / between folders"
	case percentEscape.MatchString(p):
		// %2e%2e is ".." to any layer that decodes it: refuse them all.
		return "is URL-encoded; give the path as it is in the repository"
	case strings.HasPrefix(p, "/") || driveLetter.MatchString(p):
		return "is absolute; give it relative to the repository root"
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "leaves the repository root"
	}
	return ""
}

var (
	percentEscape = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)
	driveLetter   = regexp.MustCompile(`^[A-Za-z]:`)
	// scpLike is kustomize's "user@host:org/repo" (or "user@host/org/repo")
	// form of a git URL.
	scpLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*@[^/:]+[:/]`)
)

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// quoteShort quotes user input for an error message, cut to a sane length.
func quoteShort(s string) string {
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}

// isRemoteRef reports whether kustomize would fetch ref over the network
// rather than read it from the checkout: a URL with a scheme (kustomize
// fetches http and https files itself and clones git URLs by running git), a
// go-getter "git::" prefix, an scp-like "user@host:path", or a bare
// "github.com/org/repo". It errs on the side of "remote": a local folder
// literally named "github.com" is refused too.
func isRemoteRef(ref string) bool {
	s := strings.TrimSpace(ref)
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "git::") ||
		strings.Contains(s, "://") ||
		scpLike.MatchString(s) ||
		strings.HasPrefix(lower, "github.com/") ||
		strings.HasPrefix(lower, "github.com:")
}

// redactRef hides the user information of a URL (it may be a token, as in
// https://TOKEN@host/org/repo) before the URL goes into an error message.
func redactRef(ref string) string {
	i := strings.Index(ref, "://")
	if i < 0 {
		return quoteShort(ref)
	}
	rest := ref[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		ref = ref[:i+3] + "***" + rest[at:]
	}
	return quoteShort(ref)
}
