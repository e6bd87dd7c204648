package engine

import (
	"context"
	"errors"
	"maps"
	"time"

	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// ErrNotObserved says the engine holds no finished sync of the Application
// whose objects' health it could read again: none since the controller
// started, the last one failed, or its cluster's clients were released.
// The caller syncs instead.
var ErrNotObserved = errors.New("no finished sync of the Application to read the health of")

// observation is what the last sync of an Application that went through
// to its health left for Observe: where its objects are and what it wrote.
type observation struct {
	uid types.UID
	// generation is the Application's generation the sync applied: a
	// newer spec (other health checks, another source) is synced.
	generation  int64
	destination string
	// key and target are the destination's clients as the sync used them:
	// Observe reads their watch caches while they are still the current.
	// Releasing or replacing them drops the record (forgetCluster), so
	// that it never holds on to clients no longer in use.
	key    string
	target *managerEntry
	// result holds the cluster, revision and inventory.
	result Result
	// checks are the Application's health checks, compiled by the sync.
	checks *health.Checks
	// writes are the sync's writes the watch caches did not show yet; each
	// Observe drops those they now show.
	writes map[inventory.ObjMetadata]write
}

// remember keeps what Observe needs of a sync that went through to its
// health, and forgets the Application after any other that got to work.
func (e *Engine) remember(s *syncState, err error) {
	app := types.NamespacedName{Namespace: s.app.Namespace, Name: s.app.Name}
	if errors.Is(err, ErrClusterBusy) {
		return // it did nothing: the last sync's record holds
	}
	e.obsMu.Lock()
	defer e.obsMu.Unlock()
	if err != nil || s.target == nil || !s.result.Planned || s.result.Resources == nil {
		delete(e.observed, app)
		return
	}
	e.observed[app] = &observation{
		uid:         s.app.UID,
		generation:  s.app.Generation,
		destination: s.app.Spec.Destination.Cluster,
		key:         s.app.Namespace + "/" + s.result.Cluster,
		target:      s.target,
		result: Result{
			Cluster: s.result.Cluster, Revision: s.result.Revision, Planned: true,
			Inventory: s.result.Inventory,
		},
		checks: s.checks,
		writes: s.writes,
	}
}

// Forget drops what the engine keeps of an Application's last sync: it is
// deleted.
func (e *Engine) Forget(app types.NamespacedName) {
	e.obsMu.Lock()
	delete(e.observed, app)
	e.obsMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.managers {
		m.slots.forget(app)
	}
}

// forgetCluster drops the records of syncs through the clients of the
// cluster key, which are being released or replaced.
func (e *Engine) forgetCluster(key string) {
	e.obsMu.Lock()
	defer e.obsMu.Unlock()
	for app, obs := range e.observed {
		if obs.key == key {
			delete(e.observed, app)
		}
	}
}

// observation returns the record of app's last sync, if it is of this
// Application at its generation, to the same destination, through clients
// still in use; a record that is not is dropped.
func (e *Engine) observation(app *flotillav1.Application) *observation {
	name := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	e.obsMu.Lock()
	obs := e.observed[name]
	e.obsMu.Unlock()
	if obs == nil {
		return nil
	}
	e.mu.Lock()
	current := e.managers[obs.key] == obs.target
	e.mu.Unlock()
	if obs.uid != app.UID || obs.generation != app.Generation || obs.destination != app.Spec.Destination.Cluster ||
		!current || obs.target.watcher.Stopped() {
		e.obsMu.Lock()
		if e.observed[name] == obs {
			delete(e.observed, name)
		}
		e.obsMu.Unlock()
		return nil
	}
	return obs
}

// Observe reads again, from the watch caches, the health of the objects the
// last sync of app left, for when only their status changed (a Deployment
// rolled out, a Job finished): no fetch, no render, no dry-run, no write,
// no request to the cluster but, as a sync's own health step, the pods of a
// workload that is not healthy. An object the last sync wrote is
// Progressing while the cache shows it older, as after that sync. The
// Result holds the cluster, revision, inventory and health; ErrNotObserved
// says to sync instead.
func (e *Engine) Observe(ctx context.Context, app *flotillav1.Application) (*Result, error) {
	start := time.Now()
	obs := e.observation(app)
	if obs == nil {
		return nil, ErrNotObserved
	}
	s := newState(Request{App: app})
	s.target, s.manager = obs.target, obs.target.manager
	*s.result = obs.result
	s.checks = obs.checks
	e.obsMu.Lock()
	s.writes = maps.Clone(obs.writes)
	e.obsMu.Unlock()
	if s.writes == nil {
		s.writes = map[inventory.ObjMetadata]write{}
	}
	err := e.observe(ctx, s)
	e.obsMu.Lock()
	obs.writes = s.writes
	e.obsMu.Unlock()
	res := s.result
	res.Duration = time.Since(start)
	return res, err
}
