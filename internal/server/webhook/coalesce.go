package webhook

import (
	"slices"
	"sync"
	"time"
)

// work is what is pending for one repository: the union of the pushes
// received since its last flush.
type work struct {
	// keys are the repository's keys (repoKey): a push may name it by
	// several URLs whose keys differ.
	keys []string
	git  *push // nil for an OCI repository
}

// merge adds p's refs to w.
func (w *work) merge(o work) {
	if w.git == nil || o.git == nil {
		if w.git == nil {
			w.git = o.git
		}
		return
	}
	for _, b := range o.git.branches {
		if !slices.Contains(w.git.branches, b) && len(w.git.branches) < maxRefs {
			w.git.branches = append(w.git.branches, b)
		}
	}
	for _, t := range o.git.tags {
		if !slices.Contains(w.git.tags, t) && len(w.git.tags) < maxRefs {
			w.git.tags = append(w.git.tags, t)
		}
	}
	if w.git.defaultBranch == "" {
		w.git.defaultBranch = o.git.defaultBranch
	}
}

// coalescer runs flush for a repository at once on its first push, then at
// most once per window while pushes keep coming: a burst of N pushes
// becomes about 1 + burst/window flushes, never N.
type coalescer struct {
	window time.Duration
	flush  func(key string, w work)

	mu     sync.Mutex
	states map[string]*repoState
	closed bool
	// running counts armed timers and flushes in progress.
	running sync.WaitGroup
}

type repoState struct {
	pending *work
	timer   *time.Timer
}

func newCoalescer(window time.Duration, flush func(string, work)) *coalescer {
	return &coalescer{window: window, flush: flush, states: map[string]*repoState{}}
}

// add queues w for key. While a key has a state, either its timer is armed
// or its flush is running (and arms the timer when it ends), so a pending
// push is never left behind.
func (c *coalescer) add(key string, w work) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if s := c.states[key]; s != nil {
		if s.pending == nil {
			s.pending = &w
		} else {
			s.pending.merge(w)
		}
		return
	}
	s := &repoState{pending: &w}
	c.states[key] = s
	c.arm(key, s, 0)
}

func (c *coalescer) arm(key string, s *repoState, after time.Duration) {
	c.running.Add(1)
	s.timer = time.AfterFunc(after, func() { c.fire(key, s) })
}

// fire flushes what is pending, then waits a window for more; a window
// with nothing new ends the key's state.
func (c *coalescer) fire(key string, s *repoState) {
	defer c.running.Done()
	c.mu.Lock()
	w := s.pending
	s.pending = nil
	if w == nil || c.closed {
		delete(c.states, key)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()

	c.flush(key, *w)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		delete(c.states, key)
		return
	}
	c.arm(key, s, c.window)
}

// close drops what is pending and waits for the flushes in progress.
func (c *coalescer) close() {
	c.mu.Lock()
	c.closed = true
	for _, s := range c.states {
		if s.timer != nil && s.timer.Stop() {
			c.running.Done()
		}
	}
	c.mu.Unlock()
	c.running.Wait()
}
