package controller

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/notify"
)

const rev = "0123456789abcdef0123456789abcdef01234567"

// names are the names of events, in order.
func names(evs []notify.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return out
}

func syncedApp() *flotillav1.Application {
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "shop-eu", Generation: 2, Labels: map[string]string{flotillav1.FleetLabel: "shop"}},
		Spec:       flotillav1.ApplicationSpec{Destination: flotillav1.Destination{Cluster: "eu"}},
	}
	app.Status.ObservedGeneration = 2
	app.Status.Sync = flotillav1.SyncStatus{Status: flotillav1.SyncStatusSynced, Revision: rev}
	app.Status.Health.Status = flotillav1.HealthHealthy
	app.Status.History = []flotillav1.HistoryEntry{{ID: 1, Revision: rev}}
	app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationSucceeded}
	return app
}

func changes(action apply.Action, msg string) *apply.ChangeSet {
	return &apply.ChangeSet{Changes: []apply.Change{{
		Object: inventory.ObjMetadata{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		Action: action, Message: msg,
	}}}
}

func TestApplicationEvents(t *testing.T) {
	failure := errors.New("Deployment/shop/web: dry-run failed (Invalid): spec.replicas: Invalid value: -1")
	cases := []struct {
		name string
		// edit turns the status found into the one written, and says what
		// the sync returned.
		edit func(app *flotillav1.Application, p *plan) (*engine.Result, error)
		want []string
	}{
		{"steady", func(*flotillav1.Application, *plan) (*engine.Result, error) {
			return &engine.Result{Revision: rev, InSync: true}, nil
		}, nil},
		{"sync fails", func(app *flotillav1.Application, _ *plan) (*engine.Result, error) {
			app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: failure.Error()}
			return &engine.Result{Revision: rev, Changes: changes(apply.ActionFailed, "Invalid")}, failure
		}, []string{flotillav1.EventSyncFailed}},
		{"sync fails again alike", func(app *flotillav1.Application, p *plan) (*engine.Result, error) {
			p.lastOp = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: failure.Error()}
			app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: failure.Error(), RetryCount: 1}
			return nil, failure
		}, nil},
		{"sync fails for another cause", func(app *flotillav1.Application, p *plan) (*engine.Result, error) {
			p.lastOp = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: "fetch failed"}
			app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: failure.Error()}
			return nil, failure
		}, []string{flotillav1.EventSyncFailed}},
		{"waiting on a dependency", func(app *flotillav1.Application, _ *plan) (*engine.Result, error) {
			app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: "x"}
			return nil, &engine.Error{Reason: flotillav1.ReasonDependencyNotReady, Err: errors.New("x")}
		}, nil},
		{"new revision applied", func(app *flotillav1.Application, _ *plan) (*engine.Result, error) {
			app.Status.Sync.Revision = "fedcba9876543210fedcba9876543210fedcba98"
			return &engine.Result{Revision: app.Status.Sync.Revision, Applied: true, InSync: true, Changes: changes(apply.ActionConfigured, "")}, nil
		}, []string{flotillav1.EventSyncSucceeded}},
		{"turns Degraded", func(app *flotillav1.Application, _ *plan) (*engine.Result, error) {
			app.Status.Health.Status = flotillav1.HealthDegraded
			app.Status.Resources = []flotillav1.ResourceStatus{
				{Kind: "Service", Namespace: "shop", Name: "web", Health: flotillav1.HealthHealthy},
				{Kind: "Deployment", Namespace: "shop", Name: "web", Health: flotillav1.HealthDegraded, Message: "ProgressDeadlineExceeded"},
			}
			return &engine.Result{Revision: rev, InSync: true}, nil
		}, []string{flotillav1.EventHealthDegraded}},
		{"drift seen", func(app *flotillav1.Application, _ *plan) (*engine.Result, error) {
			app.Status.Sync.Status = flotillav1.SyncStatusOutOfSync
			return &engine.Result{Revision: rev, Changes: changes(apply.ActionConfigured, "")}, nil
		}, []string{flotillav1.EventDriftDetected}},
		{"drift corrected", func(*flotillav1.Application, *plan) (*engine.Result, error) {
			return &engine.Result{Revision: rev, Applied: true, InSync: true, Changes: changes(apply.ActionConfigured, "")}, nil
		}, []string{flotillav1.EventSyncSucceeded, flotillav1.EventDriftDetected}},
		{"spec changed, not drift", func(app *flotillav1.Application, _ *plan) (*engine.Result, error) {
			app.Generation = 3
			app.Status.Sync.Status = flotillav1.SyncStatusOutOfSync
			return &engine.Result{Revision: rev, Changes: changes(apply.ActionConfigured, "")}, nil
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := syncedApp()
			before := app.Status.DeepCopy()
			p := plan{lastOp: app.Status.Operation.DeepCopy()}
			res, err := c.edit(app, &p)
			got := applicationEvents(before, app, p, res, err)
			if diff := cmp.Diff(c.want, names(got)); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			for _, ev := range got {
				if ev.Application != "shop-eu" || ev.Fleet != "shop" || ev.Project != "default" || ev.Cluster != "eu" || ev.Namespace != "ns" {
					t.Errorf("%s: subject %+v", ev.Name, ev)
				}
			}
		})
	}
}

func TestApplicationEventsNameTheCause(t *testing.T) {
	app := syncedApp()
	before := app.Status.DeepCopy()
	failure := errors.New("Deployment/shop/web: dry-run failed (Invalid): spec.replicas: Invalid value: -1")
	app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: failure.Error()}
	evs := applicationEvents(before, app, plan{}, &engine.Result{Revision: rev, Changes: changes(apply.ActionFailed, "Invalid")}, failure)
	if len(evs) != 1 || evs[0].Object != "Deployment/shop/web" || evs[0].Message != failure.Error() || evs[0].Revision != rev {
		t.Errorf("events %+v", evs)
	}
	app = syncedApp()
	app.Status.Health.Status = flotillav1.HealthDegraded
	app.Status.Resources = []flotillav1.ResourceStatus{{Kind: "Deployment", Namespace: "shop", Name: "web", Health: flotillav1.HealthDegraded, Message: "ProgressDeadlineExceeded"}}
	evs = applicationEvents(before, app, plan{}, &engine.Result{Revision: rev, InSync: true}, nil)
	if len(evs) != 1 || evs[0].Object != "Deployment/shop/web" || !strings.Contains(evs[0].Message, "ProgressDeadlineExceeded") {
		t.Errorf("events %+v", evs)
	}
	if evs := applicationEvents(app.Status.DeepCopy(), app, plan{}, &engine.Result{Revision: rev, InSync: true}, nil); len(evs) != 0 {
		t.Errorf("still Degraded: events %+v", evs)
	}
}

func TestAgentTransitions(t *testing.T) {
	cases := []struct {
		name string
		// edit turns the status found into the one the agent wrote.
		edit func(app *flotillav1.Application)
		want []string
	}{
		{"steady", func(*flotillav1.Application) {}, nil},
		{"sync fails", func(app *flotillav1.Application) {
			app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: "fetch failed"}
			setReady(app, flotillav1.ReasonApplyFailed)
		}, []string{flotillav1.EventSyncFailed}},
		{"waiting on a dependency", func(app *flotillav1.Application) {
			app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: "waiting for db (OutOfSync, Progressing)"}
			setReady(app, flotillav1.ReasonDependencyNotReady)
		}, nil},
		{"new revision applied", func(app *flotillav1.Application) {
			app.Status.History = append(app.Status.History, flotillav1.HistoryEntry{ID: 2, Revision: rev})
		}, []string{flotillav1.EventSyncSucceeded}},
		{"drift seen", func(app *flotillav1.Application) {
			app.Status.Sync.Status = flotillav1.SyncStatusOutOfSync
		}, []string{flotillav1.EventDriftDetected}},
		{"spec changed, not drift", func(app *flotillav1.Application) {
			app.Generation = 3
			app.Status.Sync.Status = flotillav1.SyncStatusOutOfSync
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := syncedApp()
			before := app.Status.DeepCopy()
			c.edit(app)
			if diff := cmp.Diff(c.want, names(agentTransitions(before, app))); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func setReady(app *flotillav1.Application, reason string) {
	meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{Type: flotillav1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: app.Status.Operation.Message})
}

func TestClusterDisconnected(t *testing.T) {
	up := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "eu"}, Status: flotillav1.ClusterStatus{Connected: true}}
	down := up.DeepCopy()
	setClusterStatus(down, "", errors.New("cluster eu: unreachable at https://10.0.0.1:6443: connection refused"), 0, nowTime())
	evs := clusterDisconnected(up, down)
	if len(evs) != 1 || evs[0].Name != flotillav1.EventClusterDisconnected || evs[0].Cluster != "eu" || !strings.Contains(evs[0].Message, "unreachable") {
		t.Errorf("events %+v", evs)
	}
	if evs := clusterDisconnected(down, down.DeepCopy()); len(evs) != 0 {
		t.Errorf("still down: %+v", evs)
	}
	if evs := clusterDisconnected(down, up); len(evs) != 0 {
		t.Errorf("back up: %+v", evs)
	}
}
