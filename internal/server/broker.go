package server

import (
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// defaultRingSize is how many changes the broker keeps for clients that
// reconnect with Last-Event-ID.
const defaultRingSize = 4096

// change is one change of one object, with the object before and after:
// whether a caller sees it as ADDED, MODIFIED or DELETED depends on whether
// its filter and rights match the one, the other or both. Objects are the
// informers' own: never changed.
type change struct {
	id       uint64
	kind     string
	old, new client.Object
}

// broker turns the informers' notifications into numbered changes, keeps
// the last of them in a ring, keeps the current state, and wakes the
// streams.
type broker struct {
	mu  sync.Mutex
	seq uint64
	// start is the first seq: the time the broker was made, in
	// microseconds, so that an id of an earlier run of the server (or of
	// another replica) is never mistaken for one of this run.
	start  uint64
	ring   []change // ring[i%len] holds change seq i
	state  map[stateKey]client.Object
	notify chan struct{} // closed and replaced at each change
}

type stateKey struct{ kind, namespace, name string }

func newBroker(size int) *broker {
	start := uint64(time.Now().UnixMicro())
	return &broker{seq: start, start: start, ring: make([]change, size), state: map[stateKey]client.Object{}, notify: make(chan struct{})}
}

// handler is the informer event handler of kind.
func (b *broker) handler(kind string) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { b.record(kind, nil, asObject(obj)) },
		UpdateFunc: func(old, obj any) {
			o, n := asObject(old), asObject(obj)
			if o != nil && n != nil && o.GetResourceVersion() == n.GetResourceVersion() {
				return // a resync: nothing changed
			}
			b.record(kind, o, n)
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			b.record(kind, asObject(obj), nil)
		},
	}
}

func asObject(obj any) client.Object {
	o, _ := obj.(client.Object)
	return o
}

func (b *broker) record(kind string, old, obj client.Object) {
	ref := obj
	if ref == nil {
		ref = old
	}
	if ref == nil {
		return
	}
	key := stateKey{kind, ref.GetNamespace(), ref.GetName()}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old == nil {
		old = b.state[key]
	}
	if obj == nil {
		delete(b.state, key)
	} else {
		b.state[key] = obj
	}
	b.seq++
	b.ring[b.seq%uint64(len(b.ring))] = change{id: b.seq, kind: kind, old: old, new: obj}
	close(b.notify)
	b.notify = make(chan struct{})
}

// snapshot is the current state, the id of the last change it includes,
// and the channel closed at the next change.
func (b *broker) snapshot() ([]change, uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]change, 0, len(b.state))
	for k, obj := range b.state {
		out = append(out, change{id: b.seq, kind: k.kind, new: obj})
	}
	return out, b.seq, b.notify
}

// since returns the changes after id, and the channel closed at the next
// change; ok is false when some of them are no longer kept (or id is from
// the future: another server, or before a restart).
func (b *broker) since(id uint64) (out []change, last uint64, wake <-chan struct{}, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := uint64(len(b.ring))
	oldest := b.start // the changes kept are those after oldest
	if b.seq-b.start > n {
		oldest = b.seq - n
	}
	if id > b.seq || id < oldest {
		return nil, b.seq, b.notify, false
	}
	for i := id + 1; i <= b.seq; i++ {
		out = append(out, b.ring[i%n])
	}
	return out, b.seq, b.notify, true
}
