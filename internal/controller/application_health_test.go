package controller

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestAppQueueMarks: a reconcile only refreshes health when nothing but
// news of health queued it and its next sync is not due; a sync's reason
// wins over a health read, whichever came first; the mark is used once.
func TestAppQueueMarks(t *testing.T) {
	app := types.NamespacedName{Namespace: "flotilla-system", Name: "web"}
	q := newAppQueue()

	q.Health(app)
	if q.take(app) {
		t.Error("no sync recorded yet, so none is due later: a health event must sync")
	}
	q.synced(app, time.Hour)
	q.Health(app)
	if !q.take(app) {
		t.Error("a health event before the next sync is due should only refresh health")
	}
	if q.take(app) {
		t.Error("a mark was used twice")
	}
	for _, order := range [][]func(types.NamespacedName){{q.Health, q.Drift}, {q.Drift, q.Health}} {
		order[0](app)
		order[1](app)
		if q.take(app) {
			t.Error("drift and a health event together must sync")
		}
	}
	q.Health(app)
	q.synced(app, 0)
	if q.take(app) {
		t.Error("a sync asked to come back at once: the next reconcile syncs")
	}
	q.synced(app, time.Hour)
	q.forget(app)
	q.Health(app)
	if q.take(app) {
		t.Error("a forgotten Application kept its due time")
	}
}

// TestAppQueueKeepsEveryEvent: events queued before the controller starts
// reach its work queue when it does, and however many come after, each
// Application is queued once and none is dropped.
func TestAppQueueKeepsEveryEvent(t *testing.T) {
	q := newAppQueue()
	early := types.NamespacedName{Namespace: "flotilla-system", Name: "early"}
	q.Health(early)
	wq := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer wq.ShutDown()
	if err := q.source().Start(context.Background(), wq); err != nil {
		t.Fatal(err)
	}
	if wq.Len() != 1 {
		t.Fatalf("%d Applications queued after start, want the 1 queued before it", wq.Len())
	}
	const apps = 5000
	for i := range apps {
		app := types.NamespacedName{Namespace: "flotilla-system", Name: fmt.Sprintf("app-%d", i)}
		q.Drift(app)
		q.Health(app)
	}
	if got := wq.Len(); got != apps+1 {
		t.Errorf("%d Applications queued, want %d: each once, none dropped", got, apps+1)
	}
}

// TestAppQueueBehind: a copy of an Application that is not the version
// the last status write of it left (the informer has not shown that write
// yet, or shows one between two writes of a sync) is told apart, and only
// for the same object: one created anew under its name is not.
func TestAppQueueBehind(t *testing.T) {
	q := newAppQueue()
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "flotilla-system", Name: "web", UID: "u1", ResourceVersion: "10"}}
	if q.behind(app) {
		t.Error("behind before any write")
	}
	written := app.DeepCopy()
	written.ResourceVersion = "12"
	q.saw(written)
	if !q.behind(app) {
		t.Error("a copy older than the write is not behind")
	}
	if q.behind(written) {
		t.Error("the written copy is behind")
	}
	recreated := app.DeepCopy()
	recreated.UID = "u2"
	if q.behind(recreated) {
		t.Error("an Application created anew under the name is behind its predecessor's write")
	}
	q.forget(client.ObjectKeyFromObject(app))
	if q.behind(app) {
		t.Error("a forgotten Application is still behind")
	}
}

// TestResyncsWaitBehindOtherWork: the requeue of a sync that succeeded (or
// stalled) is a resync on the interval, queued behind other work; that of
// a failure is a retry, at the queue's usual priority.
func TestResyncsWaitBehindOtherWork(t *testing.T) {
	r := &ApplicationReconciler{Queue: newAppQueue()}
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "flotilla-system", Name: "web"}}
	ok := r.requeue(app, nil)
	if ok.Priority == nil || *ok.Priority != handler.LowPriority || ok.RequeueAfter != defaultInterval {
		t.Errorf("after a success: %+v, want the interval %v at low priority", ok, defaultInterval)
	}
	failed := r.requeue(app, errors.New("unreachable"))
	if failed.Priority != nil || failed.RequeueAfter >= defaultInterval {
		t.Errorf("after a failure: %+v, want a retry sooner than the interval at the usual priority", failed)
	}
}
