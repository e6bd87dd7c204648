package server

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestBrokerResume(t *testing.T) {
	b := newBroker(4)
	app := func(name, rv string) *flotillav1.Application {
		return &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
	}
	h := b.handler("Application")
	h.OnAdd(app("a", "1"), false)
	_, first, _ := b.snapshot()
	h.OnAdd(app("b", "2"), false)
	h.OnUpdate(app("a", "1"), app("a", "3"))
	h.OnUpdate(app("a", "3"), app("a", "3")) // a resync: no change

	changes, last, _, ok := b.since(first)
	if !ok || len(changes) != 2 || last != first+2 {
		t.Fatalf("since %d: ok=%v last=%d changes=%d, want the 2 later changes", first, ok, last, len(changes))
	}
	if changes[1].old.GetResourceVersion() != "1" || changes[1].new.GetResourceVersion() != "3" {
		t.Errorf("the update should carry the object before and after: %+v", changes[1])
	}
	if _, _, _, ok := b.since(last + 1); ok {
		t.Errorf("an id from the future must resync")
	}
	if _, _, _, ok := b.since(b.start - 1); ok {
		t.Errorf("an id of an earlier run must resync")
	}
	for i := range 4 {
		h.OnDelete(app(string(rune('c'+i)), "9"))
	}
	if _, _, _, ok := b.since(first); ok {
		t.Errorf("changes no longer in the ring must resync")
	}
	if _, _, _, ok := b.since(b.seq - 4); !ok {
		t.Errorf("the last 4 changes are kept")
	}
	state, _, _ := b.snapshot()
	if len(state) != 2 {
		t.Errorf("state holds %d objects, want a and b", len(state))
	}
}

// TestStreamEventTypes: what a caller sees of a change depends on whether
// it sees the object before and after.
func TestStreamEventTypes(t *testing.T) {
	sub := &subscription{kinds: map[string]bool{"Application": true}, filter: filter{selector: labels.Everything()}, caller: projectCaller{"team-a"}}
	inA := testApp("x", "team-a", "", "", "", nil)
	inB := testApp("x", "team-b", "", "", "", nil)
	tests := []struct {
		name     string
		old, new *flotillav1.Application
		want     string
	}{
		{"created visible", nil, inA, "ADDED"},
		{"created invisible", nil, inB, ""},
		{"changed visible", inA, inA, "MODIFIED"},
		{"moved out of view", inA, inB, "DELETED"},
		{"moved into view", inB, inA, "ADDED"},
		{"deleted visible", inA, nil, "DELETED"},
		{"deleted invisible", inB, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := change{kind: "Application"}
			if tt.old != nil {
				ch.old = tt.old
			}
			if tt.new != nil {
				ch.new = tt.new
			}
			if got, _ := sub.event(ch); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// projectCaller may get what is in one Project.
type projectCaller struct{ project string }

func (p projectCaller) Name() string { return "tester" }
func (p projectCaller) Can(verb, _, project string) bool {
	return verb == verbAppGet && project == p.project
}
