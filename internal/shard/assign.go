package shard

import (
	"hash/fnv"
	"slices"
	"strings"
)

// Assign maps every key to one of members by rendezvous (highest random
// weight) hashing with bounded load: each key goes to the member that
// weighs most for it, unless that member already holds Capacity(keys,
// members) keys, in which case it goes to the next one in its own order of
// weights.
//
// The result depends only on the two sets, never on their order or on
// duplicates, so every replica that sees the same Leases and the same keys
// computes the same owners. Without the bound, adding a member moves only
// the keys that now weigh most for it (about 1/n of them); the bound moves
// a few more, the overflow of members that were over it. With no members
// the result is empty.
func Assign(keys, members []string) map[string]string {
	members = uniqueSorted(members)
	keys = uniqueSorted(keys)
	out := make(map[string]string, len(keys))
	if len(members) == 0 {
		return out
	}
	limit := Capacity(len(keys), len(members))
	load := make(map[string]int, len(members))
	// Keys take their turn in the order of their own hash, not their
	// name, so that a run of similar names does not fill one member first.
	order := slices.Clone(keys)
	slices.SortFunc(order, func(a, b string) int {
		ha, hb := keyHash(a), keyHash(b)
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return strings.Compare(a, b)
	})
	ranked := make([]string, len(members))
	for _, k := range order {
		copy(ranked, members)
		rank(k, ranked)
		for _, m := range ranked {
			if load[m] < limit {
				out[k] = m
				load[m]++
				break
			}
		}
	}
	return out
}

// Capacity is the most keys one member holds: ceil(keys/members × 1.25).
func Capacity(keys, members int) int {
	if members <= 0 {
		return 0
	}
	return (5*keys + 4*members - 1) / (4 * members)
}

// rank orders members by their weight for key, heaviest first; ties (which
// need a 64-bit collision) go by name.
func rank(key string, members []string) {
	w := make(map[string]uint64, len(members))
	for _, m := range members {
		w[m] = weight(key, m)
	}
	slices.SortFunc(members, func(a, b string) int {
		wa, wb := w[a], w[b]
		switch {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return strings.Compare(a, b)
	})
}

// weight is the pseudo-random weight of member for key.
func weight(key, member string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(member))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	return mix(h.Sum64())
}

func keyHash(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return mix(h.Sum64())
}

// mix is the splitmix64 finalizer: FNV alone spreads short, similar
// strings poorly in the high bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
