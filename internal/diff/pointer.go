package diff

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPointerLength caps the length of a JSON pointer in an ignore rule. The
// longest useful pointer (an annotation key under /metadata/annotations) is
// far shorter.
const MaxPointerLength = 1024

// Pointer is a parsed RFC 6901 JSON pointer: its reference tokens,
// unescaped. The empty Pointer refers to the whole document.
type Pointer []string

// ParsePointer parses an RFC 6901 JSON pointer such as "/spec/replicas" or
// "/metadata/annotations/example.com~1note" (the annotation
// "example.com/note"). In a reference token "~1" stands for "/" and "~0" for
// "~"; any other "~" is an error, as is a non-empty pointer that does not
// start with "/", one that is not UTF-8, or one longer than
// MaxPointerLength. The URI fragment form ("#/spec") is not accepted.
// Errors wrap ErrInvalidPointer.
func ParsePointer(s string) (Pointer, error) {
	switch {
	case len(s) > MaxPointerLength:
		return nil, pointerError(s, fmt.Sprintf("longer than %d bytes", MaxPointerLength))
	case s == "":
		return Pointer{}, nil
	case !utf8.ValidString(s):
		return nil, pointerError(s, "not valid UTF-8")
	case s[0] != '/':
		return nil, pointerError(s, `must be empty or start with "/"`)
	}
	p := Pointer{}
	var tok strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '/':
			p = append(p, tok.String())
			tok.Reset()
		case '~':
			if i+1 >= len(s) || (s[i+1] != '0' && s[i+1] != '1') {
				return nil, pointerError(s, fmt.Sprintf(`"~" at byte %d is not followed by "0" or "1"`, i))
			}
			if s[i+1] == '0' {
				tok.WriteByte('~')
			} else {
				tok.WriteByte('/')
			}
			i++
		default:
			tok.WriteByte(c)
		}
	}
	return append(p, tok.String()), nil
}

func pointerError(s, reason string) error {
	return fmt.Errorf("%w %.*q: %s", ErrInvalidPointer, MaxPointerLength, s, reason)
}

// String returns p in RFC 6901 form, escaping "~" as "~0" and "/" as "~1".
func (p Pointer) String() string {
	var b strings.Builder
	for _, tok := range p {
		b.WriteByte('/')
		b.WriteString(escapeToken(tok))
	}
	return b.String()
}

var tokenEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapeToken(tok string) string { return tokenEscaper.Replace(tok) }

// pointerSteps turns p into the steps that find its target in a JSON value.
// A token selects a key of an object, or an element of an array when it is
// an array index as RFC 6901 writes them ("0", or digits without a leading
// zero). "-" and anything else select nothing in an array.
func pointerSteps(p Pointer) []step {
	steps := make([]step, len(p))
	for i, tok := range p {
		steps[i] = func(node any) (string, int, bool) {
			switch n := node.(type) {
			case map[string]any:
				_, ok := n[tok]
				return tok, -1, ok
			case []any:
				idx, ok := arrayIndex(tok)
				return "", idx, ok && idx < len(n)
			}
			return "", -1, false
		}
	}
	return steps
}

// arrayIndex reads an RFC 6901 array index: "0" or a decimal number without
// a leading zero.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (tok[0] == '0' && len(tok) > 1) {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}
