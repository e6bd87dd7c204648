package cli

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// TestOneLineHostile: a message from a cluster or a commit reaches a
// terminal and a commit status; no control character, escape sequence or
// broken UTF-8 sequence gets through, and the cut keeps whole characters.
func TestOneLineHostile(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "sync failed", "sync failed"},
		{"newlines and tabs", "a\n\tb\r\nc", "a b c"},
		{"escape sequence", "red \x1b[31mtext\x1b[0m", "red [31mtext [0m"},
		{"C1 controls", "a\u0085b\u009bc\u0080", "a b c"},
		{"bidi override", "evil\u202etxt.exe", "evil txt.exe"},
		{"invalid UTF-8", "a\xffb\xc3", "a b"},
		{"bell and backspace", "x\a\by", "x y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, oneLine(tc.in)); diff != "" {
				t.Errorf("oneLine(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestOneLineCutKeepsWholeCharacters(t *testing.T) {
	for _, prefix := range []string{"", "a", "ab"} {
		// Each "é" is two bytes and "€" three: every cut point lands
		// inside one of them for some prefix.
		for _, r := range []string{"é", "€", "😀"} {
			in := prefix + strings.Repeat(r, maxLine)
			got := oneLine(in)
			if !utf8.ValidString(got) {
				t.Fatalf("oneLine(%q…) = %q: not valid UTF-8", in[:8], got)
			}
			body := strings.TrimSuffix(got, "…")
			if body == got {
				t.Fatalf("oneLine of %d bytes has no ellipsis", len(in))
			}
			if len(body) > maxLine || len(body) < maxLine-utf8.UTFMax {
				t.Errorf("oneLine(%q…): %d bytes before the ellipsis, want at most %d and close to it", in[:8], len(body), maxLine)
			}
		}
	}
	if got := oneLine(strings.Repeat("x", maxLine)); got != strings.Repeat("x", maxLine) {
		t.Errorf("a line of exactly %d bytes was cut: %q", maxLine, got)
	}
}

func TestPrintableParamHostile(t *testing.T) {
	in := "access_denied\x1b[2J\r\n\u0085\u009b31m\u202e\x7fdone"
	got := printableParam(in)
	if diff := cmp.Diff("access_denied[2J31mdone", got); diff != "" {
		t.Errorf("printableParam (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if unicode.IsControl(r) {
			t.Errorf("control character %U kept", r)
		}
	}
	if n := utf8.RuneCountInString(printableParam(strings.Repeat("é", 2000))); n != 512 {
		t.Errorf("printableParam kept %d characters, want 512", n)
	}
}
