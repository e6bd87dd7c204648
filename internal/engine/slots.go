package engine

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// slots bounds the syncs running against one cluster at once. A sync that
// finds none free does not wait holding a worker: its Application is put in
// line, and each slot given back wakes the next in line (issue 13: with a
// fixed retry instead, a thousand Applications waiting for one cluster's
// slots were reconciled a hundred thousand times to find it busy).
type slots struct {
	free chan struct{}
	// wake is called with the next Application in line when a slot is
	// given back; nil keeps no line.
	wake func(types.NamespacedName)

	mu     sync.Mutex
	line   []types.NamespacedName
	inLine map[types.NamespacedName]bool
}

func newSlots(n int, wake func(types.NamespacedName)) *slots {
	return &slots{free: make(chan struct{}, n), wake: wake, inLine: map[types.NamespacedName]bool{}}
}

// take takes a slot for app, or puts app in line and says false.
func (s *slots) take(app types.NamespacedName) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.free <- struct{}{}:
		// Woken or not, app is served: its place in line, if any, is
		// given up (pass skips it), not left to use up another's wake-up.
		delete(s.inLine, app)
		return true
	default:
		s.wait(app)
		return false
	}
}

// full says whether no slot is free, and if so puts app in line.
func (s *slots) full(app types.NamespacedName) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free) < cap(s.free) {
		return false
	}
	s.wait(app)
	return true
}

func (s *slots) wait(app types.NamespacedName) {
	if s.wake == nil || app.Name == "" || s.inLine[app] {
		return
	}
	s.inLine[app] = true
	s.line = append(s.line, app)
}

// give gives a slot back and wakes the next in line. The slot is free
// before the line is read under the lock, so that a take that failed just
// before is in line by then and is woken: no wake-up is lost.
func (s *slots) give() {
	<-s.free
	s.pass()
}

// pass wakes the next in line if a slot is free. Every sync of the cluster
// calls it as it ends, slot or not: a woken sync that ended before taking
// one (its fetch failed, its render did) hands its turn on, so that nobody
// waits in line while a slot stays free.
func (s *slots) pass() {
	s.mu.Lock()
	if len(s.free) == cap(s.free) {
		s.mu.Unlock()
		return
	}
	for len(s.line) > 0 {
		next := s.line[0]
		s.line = s.line[1:]
		if !s.inLine[next] {
			continue // served meanwhile, or forgotten
		}
		delete(s.inLine, next)
		s.mu.Unlock()
		s.wake(next)
		return
	}
	s.mu.Unlock()
}

// forget takes app out of line: it was deleted.
func (s *slots) forget(app types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inLine, app)
}

// wakeAll empties the line, waking everyone in it: the cluster's clients
// are being replaced or released, and no slot of these will be given back
// to them.
func (s *slots) wakeAll() {
	if s == nil {
		return
	}
	s.mu.Lock()
	line := s.line
	s.line, s.inLine = nil, map[types.NamespacedName]bool{}
	s.mu.Unlock()
	if len(line) > 0 {
		go func() {
			for _, app := range line {
				s.wake(app)
			}
		}()
	}
}
