package render

import (
	"container/list"
	"context"
	"sync"
)

// Stats counts what the Renderer's cache did.
type Stats struct {
	// Renders counts the renders actually run, cached or not.
	Renders uint64
	// Hits counts requests answered from the cache.
	Hits uint64
	// Shared counts requests that waited for an identical render already
	// running instead of starting their own.
	Shared uint64
	// Evictions counts results dropped to keep the cache within its size,
	// and results not kept because they alone are larger than it.
	Evictions uint64
	// Entries is the number of results held now.
	Entries int
	// Bytes estimates the memory the results held now take.
	Bytes int64
}

// cache keeps successful results, least recently used out first, and runs
// each key's render once however many ask for it at the same time. Errors
// are not kept: the next request renders again. It is bounded by both its
// number of entries and their estimated bytes (resultSize), since one dense
// render can hold as much as a hundred ordinary ones.
type cache struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64
	order    *list.List // of *entry, most recently used first
	entries  map[string]*list.Element
	inflight map[string]*call
	stats    Stats
}

type entry struct {
	key  string
	res  *Result
	size int64
}

// call is a render in flight. It runs on its own goroutine under a context
// of its own, cancelled when every request waiting for it has gone.
type call struct {
	done    chan struct{}
	res     *Result
	err     error
	waiters int
	cancel  context.CancelFunc
}

func newCache(max int, maxBytes int64) *cache {
	return &cache{max: max, maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}, inflight: map[string]*call{}}
}

type renderFunc func(context.Context) (*Result, error)

// get returns a private copy of the result for key, rendering it with fn
// when it is neither cached nor being rendered.
func (c *cache) get(ctx context.Context, key string, fn renderFunc) (*Result, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.order.MoveToFront(el)
		c.stats.Hits++
		res := el.Value.(*entry).res
		c.mu.Unlock()
		return res.clone(), nil
	}
	cl, running := c.inflight[key]
	if running {
		cl.waiters++
		c.stats.Shared++
	} else {
		cl = c.start(ctx, key, fn)
	}
	c.mu.Unlock()
	return c.wait(ctx, key, cl)
}

// start launches the render for key; c.mu is held.
func (c *cache) start(ctx context.Context, key string, fn renderFunc) *call {
	// The render must not end because the request that happened to start it
	// went away while others still wait for it: it gets its own context,
	// keeping ctx's values but not its cancellation.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cl := &call{done: make(chan struct{}), waiters: 1, cancel: cancel}
	c.inflight[key] = cl
	c.stats.Renders++
	go func() {
		defer cancel()
		res, err := fn(rctx)
		var size int64
		if err == nil {
			size = resultSize(res)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.inflight[key] == cl {
			delete(c.inflight, key)
		}
		if err == nil {
			c.add(key, res, size)
		}
		cl.res, cl.err = res, err
		close(cl.done)
	}()
	return cl
}

func (c *cache) wait(ctx context.Context, key string, cl *call) (*Result, error) {
	select {
	case <-cl.done:
		if cl.err != nil {
			return nil, cl.err
		}
		return cl.res.clone(), nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if cl.waiters--; cl.waiters == 0 {
			cl.cancel()
			// A request arriving now starts afresh rather than joining a
			// render that is being cancelled.
			if c.inflight[key] == cl {
				delete(c.inflight, key)
			}
		}
		return nil, ctx.Err()
	}
}

// add stores a result of the given estimated size; c.mu is held.
func (c *cache) add(key string, res *Result, size int64) {
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	if size > c.maxBytes {
		c.stats.Evictions++
		return
	}
	c.entries[key] = c.order.PushFront(&entry{key: key, res: res, size: size})
	c.bytes += size
	for c.order.Len() > c.max || c.bytes > c.maxBytes {
		c.remove(c.order.Back())
		c.stats.Evictions++
	}
}

// remove drops one entry; c.mu is held.
func (c *cache) remove(el *list.Element) {
	e := el.Value.(*entry)
	c.order.Remove(el)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

func (c *cache) countRender() {
	c.mu.Lock()
	c.stats.Renders++
	c.mu.Unlock()
}

func (c *cache) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = c.order.Len()
	s.Bytes = c.bytes
	return s
}
