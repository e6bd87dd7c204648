package project

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxPatternLen bounds a pattern, and maxSubjectLen what a pattern is matched
// against; real ones are far shorter. Both keep a match cheap: matching costs
// at most the product of the two lengths.
const (
	maxPatternLen = 2048
	maxSubjectLen = 4096
)

// A compiled pattern is a string in which the wildcards are replaced by
// runes of Unicode's Private Use Area, so that escapes are resolved once and
// URL normalization can work on plain strings. Compile refuses these runes in
// what users write, so a rune of the compiled form is a wildcard exactly when
// it is one of these.
const (
	wildRun = '\uE000' // `*`: any run of characters
	wildOne = '\uE001' // `?`: one character
	// In the scheme and host of a repository URL pattern, a wildcard stays
	// within them: it never matches a character of hostStop. Otherwise
	// `https://*.example.com/*` would match `https://evil.test/x.example.com/…`.
	hostRun = '\uE002'
	hostOne = '\uE003'

	wildFirst, wildLast = wildRun, hostOne
)

// hostStop holds what a wildcard in the scheme or host of a repository URL
// pattern never matches: the characters that end a host.
const hostStop = "/:@?#"

// Why not a library: the one glob package in the module graph,
// github.com/gobwas/glob (v0.2.3, unreleased since 2018), was run over this
// package's match tables with the wildcards translated (`**` for a path run,
// `*` with separators "/:@?#" for a host run). It agreed on the host
// boundary but matched `?` against the empty string, and it has no bound on
// subject length nor a refusal of invalid UTF-8; path.Match stops `*` at
// '/', which repository paths must cross. Keeping this matcher (fuzzed by
// FuzzGlob) was smaller than wrapping a library to mend those (issue 10).

// errPattern is wrapped by every syntax error of a pattern.
var errPattern = errors.New("invalid pattern")

// glob is one compiled pattern. The zero glob matches only the empty string.
type glob struct {
	// text is the compiled form: literal runes and wildcard runes.
	text string
	// runes is text decoded, for matching; nil when literal.
	runes []rune
	// literal is true when text has no wildcard: the glob matches text only.
	literal bool
}

func isWild(r rune) bool { return wildFirst <= r && r <= wildLast }

// compileGlob reads a pattern: `*` matches any run of characters (also
// none, also `/`), `?` exactly one character, and `\` makes the next
// character literal. `[`, `]`, `{` and `}` are reserved (character classes
// and alternatives are not supported): unescaped, they are an error rather
// than a silent literal, so that a pattern written for another tool fails
// loudly. Matching is case-sensitive.
func compileGlob(pattern string) (glob, error) {
	text, err := parsePattern(pattern)
	if err != nil {
		return glob{}, err
	}
	return newGlob(text), nil
}

// newGlob wraps a compiled form.
func newGlob(text string) glob {
	if !strings.ContainsFunc(text, isWild) {
		return glob{text: text, literal: true}
	}
	return glob{text: text, runes: []rune(text)}
}

func parsePattern(pattern string) (string, error) {
	if err := checkPatternText(pattern); err != nil {
		return "", err
	}
	var b strings.Builder
	escaped := false
	for _, r := range pattern {
		switch {
		case escaped:
			b.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == '*':
			b.WriteRune(wildRun)
		case r == '?':
			b.WriteRune(wildOne)
		case r == '[' || r == ']':
			return "", fmt.Errorf("%w: %q is reserved (character classes are not supported; write \\%c for a literal %c)", errPattern, r, r, r)
		case r == '{' || r == '}':
			return "", fmt.Errorf("%w: %q is reserved (alternatives are not supported; list each pattern, or write \\%c for a literal %c)", errPattern, r, r, r)
		default:
			b.WriteRune(r)
		}
	}
	if escaped {
		return "", fmt.Errorf("%w: ends with an unfinished escape %q", errPattern, '\\')
	}
	return b.String(), nil
}

func checkPatternText(pattern string) error {
	switch {
	case pattern == "":
		return fmt.Errorf("%w: empty", errPattern)
	case len(pattern) > maxPatternLen:
		return fmt.Errorf("%w: longer than %d bytes", errPattern, maxPatternLen)
	case !utf8.ValidString(pattern):
		return fmt.Errorf("%w: not valid UTF-8", errPattern)
	}
	for _, r := range pattern {
		switch {
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("%w: control character %q", errPattern, r)
		case isWild(r):
			return fmt.Errorf("%w: character %U is not allowed", errPattern, r)
		}
	}
	return nil
}

// match reports whether g matches all of s. It never fails: a subject that
// is not valid UTF-8 or is too long matches nothing but a literal equal to
// it (and no literal pattern is invalid UTF-8).
func (g glob) match(s string) bool {
	if g.literal {
		return g.text == s
	}
	if len(s) > maxSubjectLen || !utf8.ValidString(s) {
		return false
	}
	// A simulation of the pattern's automaton: on[i] says that the first i
	// runes of the pattern can match what was read so far. Unlike the usual
	// backtrack-to-the-last-star loop, it stays right when some stars
	// (hostRun) may not cross a character that others may.
	p := g.runes
	on, next := make([]bool, len(p)+1), make([]bool, len(p)+1)
	on[0] = true
	skipRuns(p, on)
	for _, r := range s {
		clear(next)
		alive := false
		for i, pr := range p {
			if !on[i] {
				continue
			}
			switch {
			case pr == wildRun, pr == hostRun && !strings.ContainsRune(hostStop, r):
				next[i], alive = true, true
			case pr == wildOne, pr == hostOne && !strings.ContainsRune(hostStop, r), pr == r:
				next[i+1], alive = true, true
			}
		}
		if !alive {
			return false
		}
		skipRuns(p, next)
		on, next = next, on
	}
	return on[len(p)]
}

// skipRuns lets every run wildcard match nothing: a state before one is also
// a state after it.
func skipRuns(p []rune, on []bool) {
	for i, pr := range p {
		if on[i] && (pr == wildRun || pr == hostRun) {
			on[i+1] = true
		}
	}
}

// String writes g back as a pattern a user could have written.
func (g glob) String() string {
	var b strings.Builder
	for i, r := range g.text {
		if i == 0 && r == '!' {
			// A leading '!' would read as a negation.
			b.WriteByte('\\')
		}
		switch r {
		case wildRun, hostRun:
			b.WriteByte('*')
		case wildOne, hostOne:
			b.WriteByte('?')
		case '*', '?', '\\', '[', ']', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
