package diff

import (
	"slices"
	"sort"
)

// maxEditDistance caps the number of inserted plus deleted lines the exact
// (Myers) line diff looks for. Its memory grows with the square of that
// number (about 4 MB at the cap) and its time with the product of that
// number and the lines compared. Past the cap, lines that occur once on
// each side anchor the two texts and the pieces between anchors are diffed
// on their own; a piece still past the cap is shown as removed and added
// whole. The diff is then correct but not always the shortest.
const maxEditDistance = 1000

type opKind uint8

const (
	opKeep opKind = iota
	opDelete
	opInsert
)

// op is one line of an edit script turning a into b. a and b are the
// positions in a and b before the op: a keep holds a[a] == b[b], a delete
// removes a[a], an insert adds b[b].
type op struct {
	kind opKind
	a, b int
}

// lineDiff returns an edit script from a to b, deletions before insertions
// within each run of changes.
func lineDiff(a, b []string, maxD int) []op {
	ia, ib := intern(a, b)
	pre := 0
	for pre < len(ia) && pre < len(ib) && ia[pre] == ib[pre] {
		pre++
	}
	suf := 0
	for suf < len(ia)-pre && suf < len(ib)-pre && ia[len(ia)-1-suf] == ib[len(ib)-1-suf] {
		suf++
	}
	ops := make([]op, 0, max(len(a), len(b)))
	for range pre {
		ops = append(ops, op{kind: opKeep})
	}
	ma, mb := ia[pre:len(ia)-suf], ib[pre:len(ib)-suf]
	if script, ok := myers(ma, mb, maxD); ok {
		ops = append(ops, script...)
	} else {
		ops = anchored(ops, ma, mb, maxD)
	}
	for range suf {
		ops = append(ops, op{kind: opKeep})
	}
	ops = deletesFirst(ops)
	if !number(ops, ia, ib) {
		// Not expected; a plain replacement is always right.
		ops = replaceAll(nil, len(a), len(b))
		number(ops, ia, ib)
	}
	return ops
}

// intern gives every distinct line a number, so lines compare as ints.
func intern(a, b []string) ([]int, []int) {
	ids := map[string]int{}
	conv := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	return conv(a), conv(b)
}

// myers finds a shortest edit script from a to b with E. Myers' greedy
// algorithm ("An O(ND) difference algorithm and its variations", 1986), or
// reports false when it has more than maxD edits. Only kinds are set in the
// script; number sets the positions.
func myers(a, b []int, maxD int) ([]op, bool) {
	n, m := len(a), len(b)
	limit := min(maxD, n+m)
	off := limit + 1
	v := make([]int32, 2*limit+3) // v[off+k]: furthest x on diagonal k = x-y
	var trace [][]int32           // trace[d]: v on diagonals -d-1 … d+1 before round d
	for d := 0; d <= limit; d++ {
		trace = append(trace, slices.Clone(v[off-d-1:off+d+2]))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = int(v[off+k+1]) // down from diagonal k+1: an insertion
			} else {
				x = int(v[off+k-1]) + 1 // right from diagonal k-1: a deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = int32(x)
			if x >= n && y >= m {
				return backtrack(trace, n, m), true
			}
		}
	}
	return nil, false
}

// backtrack walks the trace back from (n, m) and returns the script.
func backtrack(trace [][]int32, n, m int) []op {
	var rev []op
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		v, o := trace[d], d+1
		k := x - y
		pk := k - 1
		if k == -d || (k != d && v[o+k-1] < v[o+k+1]) {
			pk = k + 1
		}
		px := int(v[o+pk])
		py := px - pk
		for x > px && y > py {
			x, y = x-1, y-1
			rev = append(rev, op{kind: opKeep})
		}
		if d > 0 {
			if x == px {
				rev = append(rev, op{kind: opInsert})
			} else {
				rev = append(rev, op{kind: opDelete})
			}
		}
		x, y = px, py
	}
	slices.Reverse(rev)
	return rev
}

// anchored diffs a and b when they are too far apart for myers: lines
// that occur exactly once in each, in the longest run of them that keeps
// their order on both sides, are kept, and the pieces between are diffed
// alone (or replaced whole when still too far apart).
func anchored(ops []op, a, b []int, maxD int) []op {
	prevA, prevB := 0, 0
	for _, an := range append(uniqueAnchors(a, b), [2]int{len(a), len(b)}) {
		ga, gb := a[prevA:an[0]], b[prevB:an[1]]
		if script, ok := myers(ga, gb, maxD); ok {
			ops = append(ops, script...)
		} else {
			ops = replaceAll(ops, len(ga), len(gb))
		}
		if an[0] < len(a) {
			ops = append(ops, op{kind: opKeep})
		}
		prevA, prevB = an[0]+1, an[1]+1
	}
	return ops
}

// uniqueAnchors returns the pairs (i, j) with a[i] == b[j] occurring once
// in a and once in b, the longest subsequence of them increasing in both i
// and j (patience sorting).
func uniqueAnchors(a, b []int) [][2]int {
	type count struct{ na, nb, j int }
	counts := map[int]*count{}
	for _, l := range a {
		if counts[l] == nil {
			counts[l] = &count{}
		}
		counts[l].na++
	}
	for j, l := range b {
		if c := counts[l]; c != nil {
			c.nb++
			c.j = j
		}
	}
	var cands [][2]int
	for i, l := range a {
		if c := counts[l]; c.na == 1 && c.nb == 1 {
			cands = append(cands, [2]int{i, c.j})
		}
	}
	// tails[t]: index in cands of the smallest last j of an increasing run
	// of length t+1; prev links each candidate to the one before it.
	var tails []int
	prev := make([]int, len(cands))
	for ci, c := range cands {
		t := sort.Search(len(tails), func(t int) bool { return cands[tails[t]][1] >= c[1] })
		prev[ci] = -1
		if t > 0 {
			prev[ci] = tails[t-1]
		}
		if t == len(tails) {
			tails = append(tails, ci)
		} else {
			tails[t] = ci
		}
	}
	if len(tails) == 0 {
		return nil
	}
	out := make([][2]int, len(tails))
	for ci, t := tails[len(tails)-1], len(tails)-1; ci >= 0; ci, t = prev[ci], t-1 {
		out[t] = cands[ci]
	}
	return out
}

func replaceAll(ops []op, na, nb int) []op {
	for range na {
		ops = append(ops, op{kind: opDelete})
	}
	for range nb {
		ops = append(ops, op{kind: opInsert})
	}
	return ops
}

// deletesFirst reorders each run of changes to put its deletions first, as
// unified diffs show them.
func deletesFirst(ops []op) []op {
	for i := 0; i < len(ops); {
		if ops[i].kind == opKeep {
			i++
			continue
		}
		j := i
		for j < len(ops) && ops[j].kind != opKeep {
			j++
		}
		slices.SortStableFunc(ops[i:j], func(x, y op) int { return int(x.kind) - int(y.kind) })
		i = j
	}
	return ops
}

// number sets the positions of every op and checks that the script turns
// a into b.
func number(ops []op, a, b []int) bool {
	x, y := 0, 0
	for i := range ops {
		ops[i].a, ops[i].b = x, y
		switch ops[i].kind {
		case opKeep:
			if x >= len(a) || y >= len(b) || a[x] != b[y] {
				return false
			}
			x, y = x+1, y+1
		case opDelete:
			x++
		case opInsert:
			y++
		}
	}
	return x == len(a) && y == len(b)
}
