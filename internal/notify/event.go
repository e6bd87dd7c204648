package notify

import (
	"context"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Event is one thing that happened, as the controller reports it. Name is
// one of the v1alpha1.Event* constants; the other fields say what it is
// about, each empty when it does not apply (a Cluster's events have no
// Application, an Application of no Fleet has no Fleet).
type Event struct {
	// Name is the event's name, such as v1alpha1.EventSyncFailed.
	Name string `json:"event"`
	// Severity is info, warning or error; empty takes DefaultSeverity(Name).
	Severity string `json:"severity"`
	// Namespace is the hub namespace of the Application, Fleet or Cluster:
	// only Notifications of that namespace hear of it.
	Namespace   string `json:"namespace"`
	Project     string `json:"project,omitempty"`
	Fleet       string `json:"fleet,omitempty"`
	Application string `json:"application,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
	// Object is the object at fault, as Kind/namespace/name, when one is.
	Object string `json:"object,omitempty"`
	// Revision is the commit or digest concerned.
	Revision string `json:"revision,omitempty"`
	// RepoURL is the Application's (or the Fleet template's) source URL:
	// commit status providers derive the repository from it. Never holds
	// userinfo once emitted (Emit strips it).
	RepoURL string `json:"repoURL,omitempty"`
	// Message says what happened, in a sentence or a few lines.
	Message string `json:"message"`
	// Time is when it happened; zero means when Emit was called.
	Time time.Time `json:"time"`
}

// Sink receives events. Emit never blocks on a delivery and never fails:
// what cannot be routed or sent is logged and recorded in the status of the
// Notification concerned.
type Sink interface {
	Emit(ctx context.Context, ev Event)
}

// Discard is a Sink that drops every event: for a controller that sends no
// notifications (a pull agent) and for tests.
var Discard Sink = discard{}

type discard struct{}

func (discard) Emit(context.Context, Event) {}

// DefaultSeverity is the severity of an event of that name when its
// emitter gives none: error for failures, warning for what needs a look,
// info for progress.
func DefaultSeverity(name string) string {
	switch name {
	case flotillav1.EventSyncFailed, flotillav1.EventHealthDegraded, flotillav1.EventRolloutFailed, flotillav1.EventClusterDisconnected:
		return flotillav1.SeverityError
	case flotillav1.EventDriftDetected, flotillav1.EventRolloutRolledBack:
		return flotillav1.SeverityWarning
	}
	return flotillav1.SeverityInfo
}

// EventNames are the documented event names, in the order of the docs.
var EventNames = []string{
	flotillav1.EventSyncSucceeded, flotillav1.EventSyncFailed, flotillav1.EventHealthDegraded,
	flotillav1.EventDriftDetected, flotillav1.EventRolloutWavePassed, flotillav1.EventRolloutFailed,
	flotillav1.EventRolloutRolledBack, flotillav1.EventClusterDisconnected,
}

// severityRank orders severities; an unknown one ranks as info.
func severityRank(s string) int {
	switch s {
	case flotillav1.SeverityWarning:
		return 1
	case flotillav1.SeverityError:
		return 2
	}
	return 0
}

// Subject is what the event is about: Application/name, Fleet/name or
// Cluster/name, the most specific that is set.
func (e Event) Subject() string {
	switch {
	case e.Application != "":
		return "Application/" + e.Application
	case e.Fleet != "":
		return "Fleet/" + e.Fleet
	case e.Cluster != "":
		return "Cluster/" + e.Cluster
	}
	return ""
}

// key identifies an event for de-duplication: the same event about the
// same subject, cluster, revision and object is the same news, whatever its
// message says (a message may carry a time or a count that changes at each
// retry).
func (e Event) key() string {
	return e.Name + "\x00" + e.Namespace + "\x00" + e.Subject() + "\x00" + e.Cluster + "\x00" + e.Revision + "\x00" + e.Object
}

// Field bounds: an event's fields come from status and error messages;
// they are cut before anything is matched, rendered or sent.
const (
	maxNameField    = 253
	maxMessageField = 4096
)

// normalize fills the defaults and bounds every field.
func (e Event) normalize(now time.Time) Event {
	if e.Severity == "" {
		e.Severity = DefaultSeverity(e.Name)
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	for _, f := range []*string{&e.Name, &e.Severity, &e.Namespace, &e.Project, &e.Fleet, &e.Application, &e.Cluster, &e.Revision} {
		*f = cut(*f, maxNameField)
	}
	e.Object = cut(e.Object, 2*maxNameField)
	e.RepoURL = cut(stripUserinfo(e.RepoURL), 2048)
	e.Message = cut(e.Message, maxMessageField)
	return e
}
