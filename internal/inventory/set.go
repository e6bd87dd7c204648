package inventory

import (
	"cmp"
	"slices"
	"strings"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Set is a set of objects, keyed by identity (see Identity). A Set is never
// changed once made: Union and Difference return new sets, so a Set can be
// shared and copied freely. The zero value is the empty set.
type Set struct {
	items map[Identity]ObjMetadata
}

// NewSet returns a set holding objs. Of two objects with the same identity,
// the later one is kept, so the set holds the version given last.
func NewSet(objs ...ObjMetadata) Set {
	s := Set{items: make(map[Identity]ObjMetadata, len(objs))}
	for _, o := range objs {
		s.items[o.Identity()] = o
	}
	return s
}

// Has says whether an object of o's identity is in the set, whatever its
// version.
func (s Set) Has(o ObjMetadata) bool {
	_, ok := s.items[o.Identity()]
	return ok
}

// Len is the number of objects in the set.
func (s Set) Len() int { return len(s.items) }

// Keys returns the objects ordered by group, kind, namespace and name. It
// never returns nil.
func (s Set) Keys() []ObjMetadata {
	out := make([]ObjMetadata, 0, len(s.items))
	for _, o := range s.items {
		out = append(out, o)
	}
	Sort(out)
	return out
}

// Union returns the objects of s and other. Where both hold an object,
// other's version is kept.
func (s Set) Union(other Set) Set {
	return NewSet(append(s.Keys(), other.Keys()...)...)
}

// Difference returns the objects of s whose identity is not in other: with
// s the previous inventory and other the current one, what left the set and
// is a candidate for pruning.
func (s Set) Difference(other Set) Set {
	var out []ObjMetadata
	for id, o := range s.items {
		if _, ok := other.items[id]; !ok {
			out = append(out, o)
		}
	}
	return NewSet(out...)
}

// String lists the objects in order, in their short form, comma-separated:
// "ConfigMap/shop/settings, Deployment/shop/web".
func (s Set) String() string {
	keys := s.Keys()
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, ", ")
}

// Sort orders objs by group, kind, namespace, name and then version.
func Sort(objs []ObjMetadata) {
	slices.SortFunc(objs, compare)
}

func compare(a, b ObjMetadata) int {
	return cmp.Or(
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version),
	)
}

// KeyOf names the object of one status.resources entry.
func KeyOf(r flotillav1.ResourceStatus) ObjMetadata {
	return ObjMetadata{Group: r.Group, Version: r.Version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// FromResourceStatus reads an inventory from an Application's
// status.resources. Sync, health and message are ignored.
func FromResourceStatus(rs []flotillav1.ResourceStatus) Set {
	objs := make([]ObjMetadata, len(rs))
	for i, r := range rs {
		objs[i] = KeyOf(r)
	}
	return NewSet(objs...)
}

// ToResourceStatus writes s as status.resources entries, sorted, with sync,
// health and message left empty for the engine to fill in. It never returns
// nil.
func ToResourceStatus(s Set) []flotillav1.ResourceStatus {
	keys := s.Keys()
	out := make([]flotillav1.ResourceStatus, len(keys))
	for i, o := range keys {
		out[i] = flotillav1.ResourceStatus{Group: o.Group, Version: o.Version, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	}
	return out
}
