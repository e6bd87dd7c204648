package diff

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// apply runs an edit script on a and returns the result.
func apply(t *testing.T, ops []op, a, b []string) []string {
	t.Helper()
	var out []string
	for _, o := range ops {
		switch o.kind {
		case opKeep:
			if a[o.a] != b[o.b] {
				t.Fatalf("keep of unequal lines %q and %q", a[o.a], b[o.b])
			}
			out = append(out, a[o.a])
		case opInsert:
			out = append(out, b[o.b])
		}
	}
	return out
}

func edits(ops []op) int {
	n := 0
	for _, o := range ops {
		if o.kind != opKeep {
			n++
		}
	}
	return n
}

// lcs is the length of a longest common subsequence, by dynamic programming.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := range a {
		cur := make([]int, len(b)+1)
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev = cur
	}
	return prev[len(b)]
}

func randomLines(r *rand.Rand, n, alphabet int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('a' + r.IntN(alphabet)))
	}
	return out
}

func TestLineDiffIsShortestAndCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		a := randomLines(r, r.IntN(30), 1+r.IntN(5))
		b := randomLines(r, r.IntN(30), 1+r.IntN(5))
		ops := lineDiff(a, b, maxEditDistance)
		if got := apply(t, ops, a, b); !cmp.Equal(got, b, cmpEmpty) {
			t.Fatalf("case %d: script turns %q into %q, not %q", i, a, got, b)
		}
		if got, want := edits(ops), len(a)+len(b)-2*lcs(a, b); got != want {
			t.Fatalf("case %d: %d edits from %q to %q, want %d", i, got, a, b, want)
		}
	}
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Comparer(func(x, y []string) bool { return strings.Join(x, "\n") == strings.Join(y, "\n") && len(x) == len(y) })

func TestLineDiffPastTheCapIsCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		a := randomLines(r, r.IntN(40), 2+r.IntN(20))
		b := randomLines(r, r.IntN(40), 2+r.IntN(20))
		ops := lineDiff(a, b, r.IntN(4)) // the cap is hit nearly always
		if got := apply(t, ops, a, b); !cmp.Equal(got, b, cmpEmpty) {
			t.Fatalf("case %d: script turns %q into %q, not %q", i, a, got, b)
		}
	}
}

func TestLineDiffAnchorsKeepUniqueLines(t *testing.T) {
	// Past the cap, unique lines still anchor: the line "keep" is kept.
	a := []string{"x", "x", "keep", "y", "y"}
	b := []string{"z", "keep", "w"}
	ops := lineDiff(a, b, 1)
	kept := 0
	for _, o := range ops {
		if o.kind == opKeep {
			kept++
		}
	}
	if kept != 1 {
		t.Errorf("%d lines kept, want 1", kept)
	}
}

func TestLineDiffLargeInputIsQuick(t *testing.T) {
	const n = 20000
	a, b := make([]string, n), make([]string, n)
	for i := range n {
		a[i] = fmt.Sprintf("line %d", i)
		b[i] = fmt.Sprintf("line %d", i)
		if i%7 == 0 {
			b[i] = fmt.Sprintf("changed %d", i) // about 2860 changed lines: past the cap
		}
	}
	start := time.Now()
	ops := lineDiff(a, b, maxEditDistance)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	if got := apply(t, ops, a, b); !cmp.Equal(got, b, cmpEmpty) {
		t.Fatal("wrong script")
	}
	// Every changed line is anchored between unchanged ones: the diff is
	// as short as can be.
	if got, want := edits(ops), 2*((n+6)/7); got != want {
		t.Errorf("%d edits, want %d", got, want)
	}
}

func TestUnified(t *testing.T) {
	lines := func(s string) []string { return splitLines(s) }
	tests := []struct {
		name    string
		a, b    string
		context int
		want    string
	}{
		{name: "equal", a: "a\nb\n", b: "a\nb\n", context: 3, want: ""},
		{name: "both empty", context: 3, want: ""},
		{
			name: "from nothing", b: "a\nb\n", context: 3,
			want: "--- from\n+++ to\n@@ -0,0 +1,2 @@\n+a\n+b\n",
		},
		{
			name: "to nothing", a: "a\n", context: 3,
			want: "--- from\n+++ to\n@@ -1 +0,0 @@\n-a\n",
		},
		{
			name: "a change in the middle", a: "1\n2\n3\n4\n5\n6\n7\n", b: "1\n2\n3\nX\n5\n6\n7\n", context: 1,
			want: "--- from\n+++ to\n@@ -3,3 +3,3 @@\n 3\n-4\n+X\n 5\n",
		},
		{
			name: "an insertion after the last line", a: "1\n2\n", b: "1\n2\n3\n", context: 1,
			want: "--- from\n+++ to\n@@ -2 +2,2 @@\n 2\n+3\n",
		},
		{
			name: "an insertion before the first line", a: "1\n2\n", b: "0\n1\n2\n", context: 1,
			want: "--- from\n+++ to\n@@ -1 +1,2 @@\n+0\n 1\n",
		},
		{
			name: "close changes share a hunk", a: "1\n2\n3\n4\n5\n6\n", b: "X\n2\n3\nY\n5\n6\n", context: 1,
			want: "--- from\n+++ to\n@@ -1,5 +1,5 @@\n-1\n+X\n 2\n 3\n-4\n+Y\n 5\n",
		},
		{
			name: "far changes do not", a: "1\n2\n3\n4\n5\n6\n7\n", b: "X\n2\n3\n4\n5\n6\nY\n", context: 1,
			want: "--- from\n+++ to\n@@ -1,2 +1,2 @@\n-1\n+X\n 2\n@@ -6,2 +6,2 @@\n 6\n-7\n+Y\n",
		},
		{
			name: "deletions before insertions", a: "a\nb\nc\n", b: "x\ny\nc\n", context: 3,
			want: "--- from\n+++ to\n@@ -1,3 +1,3 @@\n-a\n-b\n+x\n+y\n c\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unified("from", "to", lines(tt.a), lines(tt.b), tt.context)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
