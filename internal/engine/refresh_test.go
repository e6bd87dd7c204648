package engine

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// TestObservationRecords: what a sync leaves for Observe serves only the
// same Application at the same generation and destination, through the
// clients it used; a failed sync, a new spec or released clients drop it,
// so that no record keeps a released cluster's clients alive.
func TestObservationRecords(t *testing.T) {
	e := &Engine{
		opts:     Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		clusters: cluster.NewRegistry(nil, nil, cluster.DefaultOptions()),
		managers: map[string]*managerEntry{},
		observed: map[types.NamespacedName]*observation{},
	}
	w, err := cluster.NewWatcher(&rest.Config{Host: "https://127.0.0.1:1"}, "one", cluster.WatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	entry := &managerEntry{watcher: w, generation: "1"}
	e.managers["apps/one"] = entry
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", UID: "u1", Generation: 2}}
	app.Spec.Destination.Cluster = "one"
	sync := func(err error) {
		s := newState(Request{App: app})
		s.target = entry
		s.result = &Result{Cluster: "one", Planned: true, Resources: map[inventory.ObjMetadata]health.Result{}}
		s.writes = map[inventory.ObjMetadata]write{}
		e.remember(s, err)
	}

	sync(nil)
	if e.observation(app) == nil {
		t.Fatal("a finished sync left nothing to observe")
	}
	sync(ErrClusterBusy)
	if e.observation(app) == nil {
		t.Error("a sync that found its cluster busy did nothing, yet dropped the last one's record")
	}
	sync(errors.New("render failed"))
	if e.observation(app) != nil {
		t.Error("the record of a sync outlived a failed one")
	}

	sync(nil)
	newer := app.DeepCopy()
	newer.Generation = 3
	if e.observation(newer) != nil {
		t.Error("a record served a newer generation of the Application")
	}
	if e.observation(app) != nil || len(e.observed) != 0 {
		t.Error("the record of an older generation was kept")
	}

	sync(nil)
	other := app.DeepCopy()
	other.UID = "u2"
	if e.observation(other) != nil {
		t.Error("a record served an Application of the same name created anew")
	}

	sync(nil)
	e.Release("apps", "one", "")
	if len(e.observed) != 0 {
		t.Errorf("releasing the cluster's clients kept %d records of syncs through them", len(e.observed))
	}
	if e.observation(app) != nil {
		t.Error("a record served clients that were released")
	}

	// The hub's own clients are never released by name: no Cluster
	// object stands for them.
	hub := &managerEntry{watcher: w, generation: "hub"}
	e.managers["apps/"+flotillav1.InCluster] = hub
	e.Release("apps", flotillav1.InCluster, "")
	if e.managers["apps/"+flotillav1.InCluster] != hub {
		t.Error("releasing in-cluster by name dropped the hub's own clients")
	}
}
