package notify

import (
	"slices"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Matches says whether the Notification n asks for ev: ev is of n's
// namespace, its name is among spec.events, its severity is at least
// spec.severity, and it passes every selector that is set (a selector that
// is set never matches an event without that field: a Cluster's event
// belongs to no Project). A suspended Notification matches nothing.
func Matches(n *flotillav1.Notification, ev Event) bool {
	s := &n.Spec
	if s.Suspend || n.Namespace != ev.Namespace || !slices.Contains(s.Events, ev.Name) {
		return false
	}
	if severityRank(ev.Severity) < severityRank(s.Severity) {
		return false
	}
	return selects(s.Projects, ev.Project) && selects(s.Fleets, ev.Fleet) && selects(s.Applications, ev.Application)
}

func selects(names []string, v string) bool {
	return len(names) == 0 || v != "" && slices.Contains(names, v)
}
