package shard

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// loads counts the keys of each member.
func loads(a map[string]string) map[string]int {
	out := map[string]int{}
	for _, m := range a {
		out[m]++
	}
	return out
}

// moved counts the keys whose owner differs.
func moved(a, b map[string]string) int {
	n := 0
	for k, m := range a {
		if b[k] != m {
			n++
		}
	}
	return n
}

func TestAssignSmall(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		members []string
		want    map[string]int // keys per member
	}{
		{"no members", []string{"a", "b"}, nil, map[string]int{}},
		{"no keys", nil, []string{"r1"}, map[string]int{}},
		{"one member takes all", []string{"a", "b", "c"}, []string{"r1"}, map[string]int{"r1": 3}},
		{"duplicates count once", []string{"a", "a", "b"}, []string{"r1", "r1"}, map[string]int{"r1": 2}},
		// ceil(2/2 × 1.25) = 2: the bound lets one member take both.
		{"two keys, two members", []string{"a", "b"}, []string{"r1", "r2"}, nil},
		// ceil(4/4 × 1.25) = 2.
		{"four keys, four members", names("c", 4), names("r", 4), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Assign(tt.keys, tt.members)
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, loads(got)); diff != "" {
					t.Errorf("keys per member (-want +got):\n%s", diff)
				}
			}
			limit := Capacity(len(slices.Compact(slices.Sorted(slices.Values(tt.keys)))), len(slices.Compact(slices.Sorted(slices.Values(tt.members)))))
			for m, n := range loads(got) {
				if n > limit {
					t.Errorf("member %s holds %d keys, over the bound %d", m, n, limit)
				}
			}
			for _, k := range tt.keys {
				if len(tt.members) > 0 && !slices.Contains(tt.members, got[k]) {
					t.Errorf("key %s is not assigned to a member: %q", k, got[k])
				}
			}
		})
	}
}

// TestAssignOrderFree: every replica computes the same owners, whatever
// order its listings came in.
func TestAssignOrderFree(t *testing.T) {
	keys, members := names("cluster", 50), names("replica", 4)
	want := Assign(keys, members)
	rk, rm := slices.Clone(keys), slices.Clone(members)
	slices.Reverse(rk)
	slices.Reverse(rm)
	if diff := cmp.Diff(want, Assign(rk, rm)); diff != "" {
		t.Errorf("reversed input changed the assignment (-want +got):\n%s", diff)
	}
}

// TestAssignBound: no member holds more than ceil(keys/members × 1.25).
func TestAssignBound(t *testing.T) {
	tests := []struct{ keys, members, limit int }{
		{10, 3, 5},
		{100, 3, 42},
		{100, 7, 18},
		{1000, 4, 313},
		{1000, 10, 125},
		{5, 8, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d keys on %d members", tt.keys, tt.members), func(t *testing.T) {
			if got := Capacity(tt.keys, tt.members); got != tt.limit {
				t.Fatalf("Capacity(%d, %d) = %d, want %d", tt.keys, tt.members, got, tt.limit)
			}
			a := Assign(names("cluster", tt.keys), names("replica", tt.members))
			if len(a) != tt.keys {
				t.Fatalf("%d keys assigned, want %d", len(a), tt.keys)
			}
			for m, n := range loads(a) {
				if n > tt.limit {
					t.Errorf("member %s holds %d keys, over the bound %d", m, n, tt.limit)
				}
			}
		})
	}
}

// TestAssignStability: a member joining takes about 1/n of the keys and
// moves few others; a member leaving moves its own keys and few others.
func TestAssignStability(t *testing.T) {
	tests := []struct {
		name             string
		keys             int
		before, after    []string
		maxMovedFraction float64
	}{
		// A fair share for the newcomer is 1/4 (or 1/5, 1/11); the bound
		// adds the overflow that now fits elsewhere.
		{"3 → 4 members", 1000, names("r", 3), names("r", 4), 0.25 * 1.3},
		{"4 → 5 members", 1000, names("r", 4), names("r", 5), 0.20 * 1.3},
		{"10 → 11 members", 2000, names("r", 10), names("r", 11), 1.0 / 11 * 1.3},
		{"5 → 4 members", 1000, names("r", 5), names("r", 4), 0.20 * 1.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := names("cluster", tt.keys)
			a, b := Assign(keys, tt.before), Assign(keys, tt.after)
			got := float64(moved(a, b)) / float64(tt.keys)
			t.Logf("%.1f%% of the keys moved", 100*got)
			if got > tt.maxMovedFraction {
				t.Errorf("%.1f%% of the keys moved, want at most %.1f%%", 100*got, 100*tt.maxMovedFraction)
			}
			if len(tt.after) > len(tt.before) {
				// Keys only move to the newcomer or out of its way.
				newcomer := tt.after[len(tt.after)-1]
				if n := loads(b)[newcomer]; n == 0 {
					t.Errorf("the new member %s got no keys", newcomer)
				}
			}
		})
	}
}

// TestAssignUnboundedIsRendezvous: where the bound never bites (one key),
// the owner is the member of highest weight, and removing another member
// does not move it.
func TestAssignUnboundedIsRendezvous(t *testing.T) {
	members := names("r", 6)
	for _, key := range names("cluster", 30) {
		owner := Assign([]string{key}, members)[key]
		for _, gone := range members {
			if gone == owner {
				continue
			}
			rest := slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == gone })
			if got := Assign([]string{key}, rest)[key]; got != owner {
				t.Errorf("%s: removing %s moved it from %s to %s", key, gone, owner, got)
			}
		}
	}
}
