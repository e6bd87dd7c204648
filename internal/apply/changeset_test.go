package apply_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

func mustGet(t *testing.T, cs *apply.ChangeSet, o inventory.ObjMetadata) apply.Change {
	t.Helper()
	c, ok := cs.Get(o)
	if !ok {
		t.Fatalf("Get(%s): no change", o)
	}
	return c
}

func TestChangeSetReports(t *testing.T) {
	web := inventory.ObjMetadata{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	cm := inventory.ObjMetadata{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"}
	ns := inventory.ObjMetadata{Version: "v1", Kind: "Namespace", Name: "shop"}
	old := inventory.ObjMetadata{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "old"}
	theirs := inventory.ObjMetadata{Version: "v1", Kind: "Secret", Namespace: "shop", Name: "theirs"}
	cs := &apply.ChangeSet{}
	cs.Add(apply.Change{Object: ns, Action: apply.ActionUnchanged})
	cs.Add(apply.Change{Object: web, Action: apply.ActionConfigured})
	cs.Merge(&apply.ChangeSet{Changes: []apply.Change{
		{Object: cm, Action: apply.ActionCreated},
		{Object: theirs, Action: apply.ActionConflict, Message: "owned by Application \"x/y\"", CurrentOwner: "x/y/1"},
		{Object: old, Action: apply.ActionDeleted},
		{Object: web, Action: apply.ActionFailed, Message: "apply failed (Conflict): gone wrong"},
	}})

	tests := []struct {
		name      string
		got, want any
	}{
		{"String", cs.String(), "Deployment/shop/web configured\nConfigMap/shop/settings created\n" +
			"Secret/shop/theirs conflict: owned by Application \"x/y\"\nConfigMap/shop/old deleted\n" +
			"Deployment/shop/web: apply failed (Conflict): gone wrong"},
		{"Summary", cs.Summary(), "1 created, 1 configured, 1 unchanged, 1 deleted, 1 conflict, 1 failed"},
		{"Counts", cs.Counts(), map[apply.Action]int{
			apply.ActionCreated: 1, apply.ActionConfigured: 1, apply.ActionUnchanged: 1, apply.ActionDeleted: 1, apply.ActionConflict: 1, apply.ActionFailed: 1,
		}},
		{"Changed", cs.HasChanges(), true},
		{"Inventory", cs.Inventory().Keys(), []inventory.ObjMetadata{cm, ns, web}},
		{"empty String", (&apply.ChangeSet{}).String(), "no changes"},
		{"empty Summary", (&apply.ChangeSet{}).Summary(), "no objects"},
		{"Get", mustGet(t, cs, inventory.ObjMetadata{Group: "apps", Version: "v1beta1", Kind: "Deployment", Namespace: "shop", Name: "web"}).Action, apply.ActionFailed},
		{"Conflicts", len(cs.Conflicts()), 1},
		{"Has", []bool{cs.Has(apply.ActionConflict), cs.Has(apply.ActionSkipped)}, []bool{true, false}},
		{"Remaining", (&apply.ChangeSet{Changes: []apply.Change{
			{Object: cm, Action: apply.ActionSkipped},
			{Object: old, Action: apply.ActionSkipped, Foreign: true},
			{Object: web, Action: apply.ActionFailed},
			{Object: ns, Action: apply.ActionDeleted},
		}}).Remaining(), []inventory.ObjMetadata{cm, web}},
		{"nil Changed", (*apply.ChangeSet)(nil).HasChanges(), false},
		{"unchanged only", (&apply.ChangeSet{Changes: []apply.Change{{Object: ns, Action: apply.ActionUnchanged}}}).HasChanges(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
