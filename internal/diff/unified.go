package diff

import (
	"strconv"
	"strings"
)

// unified formats the changes from a to b as a unified diff with context
// lines of context around each change, under the file names from and to.
// It returns "" when a and b are equal.
func unified(from, to string, a, b []string, context int) string {
	ops := lineDiff(a, b, maxEditDistance)
	var sb strings.Builder
	for start := 0; start < len(ops); {
		s, e, ok := nextHunk(ops, start, context)
		if !ok {
			break
		}
		if sb.Len() == 0 {
			sb.WriteString("--- " + from + "\n+++ " + to + "\n")
		}
		writeHunk(&sb, ops[s:e], a, b)
		start = e
	}
	return sb.String()
}

// nextHunk finds the first hunk at or after ops[start]: from context lines
// before its first change to context lines after its last, taking in every
// change that follows within 2*context unchanged lines.
func nextHunk(ops []op, start, context int) (int, int, bool) {
	c := start
	for c < len(ops) && ops[c].kind == opKeep {
		c++
	}
	if c == len(ops) {
		return 0, 0, false
	}
	s := max(start, c-context)
	j := c
	for {
		for j < len(ops) && ops[j].kind != opKeep {
			j++
		}
		k := j
		for k < len(ops) && ops[k].kind == opKeep {
			k++
		}
		if k == len(ops) || k-j > 2*context {
			return s, min(j+context, len(ops)), true
		}
		j = k
	}
}

func writeHunk(sb *strings.Builder, ops []op, a, b []string) {
	na, nb := 0, 0
	for _, o := range ops {
		if o.kind != opInsert {
			na++
		}
		if o.kind != opDelete {
			nb++
		}
	}
	sb.WriteString("@@ -" + hunkRange(ops[0].a, na) + " +" + hunkRange(ops[0].b, nb) + " @@\n")
	for _, o := range ops {
		switch o.kind {
		case opKeep:
			sb.WriteString(" " + a[o.a] + "\n")
		case opDelete:
			sb.WriteString("-" + a[o.a] + "\n")
		case opInsert:
			sb.WriteString("+" + b[o.b] + "\n")
		}
	}
}

// hunkRange writes a hunk's range of lines as GNU diff does: "start,count"
// with lines counted from 1, "start" alone for one line, and for no line
// the number of the line before ("0,0" at the top).
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(start) + ",0"
	case 1:
		return strconv.Itoa(start + 1)
	}
	return strconv.Itoa(start+1) + "," + strconv.Itoa(count)
}

// splitLines splits text into lines without their newlines.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}
