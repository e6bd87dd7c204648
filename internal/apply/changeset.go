package apply

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// Action is what happened, or from Compare what would happen, to one object.
type Action string

const (
	// ActionCreated: the object did not exist and was applied.
	ActionCreated Action = "Created"
	// ActionConfigured: the object existed, differed from the desired state
	// (or was adopted) and was applied.
	ActionConfigured Action = "Configured"
	// ActionUnchanged: the dry-run result equals the live object; nothing was
	// written.
	ActionUnchanged Action = "Unchanged"
	// ActionDeleted: pruned, or already gone.
	ActionDeleted Action = "Deleted"
	// ActionSkipped: prune left the object in place; Message says why.
	ActionSkipped Action = "Skipped"
	// ActionOrphaned: the object lost Flotilla's tracking label and owner
	// annotation and was left running; it is no longer the Application's.
	ActionOrphaned Action = "Orphaned"
	// ActionConflict: the object exists and is not this Application's; it was
	// neither applied nor adopted. CurrentOwner and Message say whose it is.
	ActionConflict Action = "Conflict"
	// ActionFailed: the dry-run, write or delete of the object failed;
	// Message says why and the returned error carries an *ObjectError.
	ActionFailed Action = "Failed"
)

// actionOrder is the order of counts in Summary.
var actionOrder = []Action{
	ActionCreated, ActionConfigured, ActionUnchanged, ActionDeleted,
	ActionSkipped, ActionOrphaned, ActionConflict, ActionFailed,
}

// Change is what happened to one object.
type Change struct {
	// Object is the object as applied: its namespace is the one it lives in,
	// defaulted if the rendered object had none.
	Object inventory.ObjMetadata `json:"object"`
	Action Action                `json:"action"`
	// Message says why, for Skipped, Conflict and Failed, and adds detail to
	// others ("adopted", "already gone"). Never holds Secret data.
	Message string `json:"message,omitempty"`
	// CurrentOwner is, for a Conflict, the value of the owner annotation the
	// live object carries; empty when it carries none.
	CurrentOwner string `json:"currentOwner,omitempty"`
	// Foreign marks a prune Skipped because the live object is not the
	// Application's (its owner annotation is absent or another's): it leaves
	// the inventory, unlike objects skipped for other reasons.
	Foreign bool `json:"foreign,omitempty"`
	// Generation is, for an object this change wrote, the metadata.generation
	// the write returned: a watch cache that still shows an older one has not
	// seen the write, and its object's health is not yet the new one's.
	Generation int64 `json:"generation,omitempty"`
}

// Messages of a Deleted change whose object was gone before the call.
const (
	msgAlreadyGone = "already gone"
	msgKindGone    = "gone: its kind is no longer served"
)

// MayRemain says whether the object may still be in the cluster, as the
// owner's, after the change: deleted by this call (deletion takes its time
// when a finalizer holds the object) or failed.
func (c Change) MayRemain() bool {
	switch c.Action {
	case ActionFailed:
		return true
	case ActionDeleted:
		return c.Message != msgAlreadyGone && c.Message != msgKindGone
	}
	return false
}

// String is "Deployment/shop/web configured", with the message after a colon
// when there is one. A failure reads as its error does:
// "Deployment/shop/web: dry-run failed (Invalid): …".
func (c Change) String() string {
	if c.Action == ActionFailed && c.Message != "" {
		return c.Object.String() + ": " + c.Message
	}
	s := c.Object.String() + " " + strings.ToLower(string(c.Action))
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// ChangeSet is the one result of Apply, Compare and Prune that events, logs,
// the inventory and the UI consume. Changes are in the order the objects
// were handled (stage by stage).
type ChangeSet struct {
	Changes []Change `json:"changes"`
}

// Add appends c.
func (cs *ChangeSet) Add(c Change) { cs.Changes = append(cs.Changes, c) }

// Merge appends the changes of other (an Apply's, then a Prune's). cs must
// not be nil.
func (cs *ChangeSet) Merge(other *ChangeSet) {
	cs.Changes = append(cs.Changes, other.changes()...)
}

// Count is the number of changes with action a.
func (cs *ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.changes() {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Has says whether any change has action a.
func (cs *ChangeSet) Has(a Action) bool { return cs.Count(a) > 0 }

// Counts returns the number of changes per action, leaving out zeros.
func (cs *ChangeSet) Counts() map[Action]int {
	out := map[Action]int{}
	for _, c := range cs.changes() {
		out[c.Action]++
	}
	return out
}

// HasChanges says whether anything was (or, from Compare, would be)
// created, configured or deleted.
func (cs *ChangeSet) HasChanges() bool {
	return cs.Has(ActionCreated) || cs.Has(ActionConfigured) || cs.Has(ActionDeleted)
}

// Filter returns the changes with one of the given actions, in order.
func (cs *ChangeSet) Filter(actions ...Action) []Change {
	var out []Change
	for _, c := range cs.changes() {
		if slices.Contains(actions, c.Action) {
			out = append(out, c)
		}
	}
	return out
}

// Conflicts returns the changes whose action is Conflict.
func (cs *ChangeSet) Conflicts() []Change { return cs.Filter(ActionConflict) }

// Get returns the last change of the object of o's identity (whatever its
// version), and whether there is one.
func (cs *ChangeSet) Get(o inventory.ObjMetadata) (Change, bool) {
	changes := cs.changes()
	for i := len(changes) - 1; i >= 0; i-- {
		if changes[i].Object.Identity() == o.Identity() {
			return changes[i], true
		}
	}
	return Change{}, false
}

// Inventory returns the objects the Application owns after an Apply: those
// created, configured or unchanged. Conflicts and failures are left out.
func (cs *ChangeSet) Inventory() inventory.Set {
	var objs []inventory.ObjMetadata
	for _, c := range cs.Filter(ActionCreated, ActionConfigured, ActionUnchanged) {
		objs = append(objs, c.Object)
	}
	return inventory.NewSet(objs...)
}

// Remaining returns, after a Prune, the objects it did not delete and that
// are still the Application's (Failed, or Skipped but not Foreign): they stay
// in the inventory, so that a later prune (once allowed, or once the failure
// is gone) considers them again.
func (cs *ChangeSet) Remaining() []inventory.ObjMetadata {
	var out []inventory.ObjMetadata
	for _, c := range cs.Filter(ActionSkipped, ActionFailed) {
		if !c.Foreign {
			out = append(out, c.Object)
		}
	}
	return out
}

// Summary counts the changes per action: "1 created, 2 configured, 5
// unchanged", or "no objects".
func (cs *ChangeSet) Summary() string {
	counts := cs.Counts()
	var parts []string
	for _, a := range actionOrder {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(string(a))))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// String lists every change but the unchanged ones, one a line, as
// "Deployment/shop/web configured"; "no changes" when there is none.
func (cs *ChangeSet) String() string {
	var lines []string
	for _, c := range cs.changes() {
		if c.Action != ActionUnchanged {
			lines = append(lines, c.String())
		}
	}
	if len(lines) == 0 {
		return "no changes"
	}
	return strings.Join(lines, "\n")
}

func (cs *ChangeSet) changes() []Change {
	if cs == nil {
		return nil
	}
	return cs.Changes
}
