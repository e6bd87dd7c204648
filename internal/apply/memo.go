package apply

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// LiveVersions tells, from a watch cache, whether what Flotilla applied to
// an object is as it was at a resourceVersion: false when the cache cannot
// say (not watched, not filled yet, absent, or changed since in a way it
// could not tell from news of health).
type LiveVersions interface {
	AppliedAsAt(gvr schema.GroupVersionResource, namespace, name, rv string) bool
}

// memo remembers, per object, the desired state last found equal to the
// live object and the resourceVersion the live object had then: after its
// apply, or after a dry-run that found it unchanged. While the watch cache
// still shows that resourceVersion, or shows only changes since that left
// what Flotilla applied as it was (a Deployment's status as it rolls out),
// and the desired state is the same, the object cannot differ: its read
// and dry-run are skipped (issue 13: a resync of an unchanged Application
// sends no request per object).
type memo struct {
	mu      sync.Mutex
	entries map[inventory.Identity]memoEntry
}

type memoEntry struct {
	digest [sha256.Size]byte
	rv     string
}

func newMemo() *memo { return &memo{entries: map[inventory.Identity]memoEntry{}} }

// digest is the hash of what would be applied: the prepared object, owner
// label and annotation included.
func digest(u *unstructured.Unstructured) ([sha256.Size]byte, bool) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(data), true
}

// remember records that o's desired state equals the live object at rv.
func (m *memo) remember(o *object, rv string) {
	d, ok := digest(o.u)
	if !ok || rv == "" {
		m.forget(o.key.Identity())
		return
	}
	m.mu.Lock()
	m.entries[o.key.Identity()] = memoEntry{digest: d, rv: rv}
	m.mu.Unlock()
}

func (m *memo) forget(id inventory.Identity) {
	m.mu.Lock()
	delete(m.entries, id)
	m.mu.Unlock()
}

// unchanged says whether o is known to equal the live object: the desired
// state is the one last remembered and live still shows its resourceVersion.
func (m *memo) unchanged(o *object, live LiveVersions) bool {
	if o.mapping == nil {
		return false
	}
	return m.unchangedAt(o.key.Identity(), o.mapping.Resource, o.u, live)
}

// unchangedAt says whether u, of resource gvr, is known to equal the live
// object id.
func (m *memo) unchangedAt(id inventory.Identity, gvr schema.GroupVersionResource, u *unstructured.Unstructured, live LiveVersions) bool {
	if live == nil {
		return false
	}
	m.mu.Lock()
	e, ok := m.entries[id]
	m.mu.Unlock()
	if !ok {
		return false
	}
	if !live.AppliedAsAt(gvr, id.Namespace, id.Name, e.rv) {
		return false
	}
	d, ok := digest(u)
	return ok && d == e.digest
}
