package source

import (
	"container/list"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// cache keeps checkouts, one folder per key, with a byte bound over the
// checkouts nobody holds. It fills each key once however many callers ask
// at the same time, and the fill runs on the cache's own context, so that
// one caller giving up does not fail the others.
type cache struct {
	dir string
	max int64

	mu      sync.Mutex
	size    int64
	entries map[string]*entry
	lru     *list.List // of *entry, most recently used first
	flights map[string]*flight
	// evictions numbers the folders being removed.
	evictions int
	// background counts fills and removals in progress.
	background sync.WaitGroup
}

// entry is one checkout on disk.
type entry struct {
	key  string
	dir  string
	size int64
	refs int // Artifacts not yet released
	elem *list.Element
}

// flight is a fill in progress. Its waiters each get one reference on the
// entry when it completes.
type flight struct {
	done    chan struct{}
	waiters int
	entry   *entry
	err     error
}

// fillFunc makes the checkout of a key in dir, which does not exist yet,
// and returns its size in bytes.
type fillFunc func(ctx context.Context, dir string) (int64, error)

func newCache(dir string, max int64) *cache {
	return &cache{dir: dir, max: max, entries: map[string]*entry{}, lru: list.New(), flights: map[string]*flight{}}
}

// get returns the entry of key, filling it on first use, with one reference
// taken for the caller; release it with release.
func (c *cache) get(ctx, fillCtx context.Context, key string, fill fillFunc) (*entry, error) {
	c.mu.Lock()
	if e := c.entries[key]; e != nil {
		e.refs++
		c.lru.MoveToFront(e.elem)
		c.mu.Unlock()
		return e, nil
	}
	f := c.flights[key]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flights[key] = f
		c.background.Add(1)
		go c.fill(fillCtx, key, f, fill)
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.entry, f.err
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		select {
		case <-f.done: // finished meanwhile, with a reference for us
			if f.entry != nil {
				c.releaseLocked(f.entry)
			}
		default:
			f.waiters--
		}
		return nil, ctx.Err()
	}
}

func (c *cache) fill(ctx context.Context, key string, f *flight, fill fillFunc) {
	defer c.background.Done()
	dir := filepath.Join(c.dir, key)
	size, err := fill(ctx, dir)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, key)
	if err == nil {
		e := &entry{key: key, dir: dir, size: size, refs: f.waiters}
		e.elem = c.lru.PushFront(e)
		c.entries[key] = e
		c.size += size
		f.entry = e
	}
	f.err = err
	// Evict before waking the waiters, so that a Fetch returns with the
	// cache already back within its bound.
	c.evictLocked()
	close(f.done)
}

// release drops one reference taken by get.
func (c *cache) release(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked(e)
}

func (c *cache) releaseLocked(e *entry) {
	e.refs--
	if e.refs == 0 {
		c.evictLocked()
	}
}

// evictLocked removes the least recently used entries nobody holds until
// the cache is within its bound. Entries in use stay, even past the bound.
func (c *cache) evictLocked() {
	for el := c.lru.Back(); el != nil && c.size > c.max; {
		e := el.Value.(*entry)
		prev := el.Prev()
		if e.refs == 0 {
			c.lru.Remove(el)
			delete(c.entries, e.key)
			c.size -= e.size
			// Renamed away at once, so that a new fill of the same key
			// never meets the old folder; removed without the lock held.
			c.evictions++
			trash := fmt.Sprintf("%s.evicted-%d", e.dir, c.evictions)
			if os.Rename(e.dir, trash) != nil {
				trash = e.dir
			}
			c.background.Add(1)
			go func() {
				defer c.background.Done()
				_ = os.RemoveAll(trash)
			}()
		}
		el = prev
	}
}

// wait waits for the fills and removals in progress.
func (c *cache) wait() { c.background.Wait() }

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CacheStats{Checkouts: len(c.entries), Bytes: c.size}
	for _, e := range c.entries {
		if e.refs > 0 {
			s.InUse++
		}
	}
	return s
}
