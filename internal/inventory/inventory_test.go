package inventory_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

var (
	deploy = inventory.ObjMetadata{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	cm     = inventory.ObjMetadata{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"}
	ns     = inventory.ObjMetadata{Version: "v1", Kind: "Namespace", Name: "shop"}
	crd    = inventory.ObjMetadata{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}
	widget = inventory.ObjMetadata{Group: "example.com", Version: "v1beta1", Kind: "Widget", Namespace: "shop", Name: "w"}
)

func TestStringAndID(t *testing.T) {
	tests := []struct {
		obj     inventory.ObjMetadata
		str, id string
	}{
		{deploy, "Deployment/shop/web", "apps/Deployment/shop/web"},
		{cm, "ConfigMap/shop/settings", "/ConfigMap/shop/settings"},
		{ns, "Namespace/shop", "/Namespace//shop"},
		{crd, "CustomResourceDefinition/widgets.example.com", "apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com"},
		{inventory.ObjMetadata{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "system:flotilla_x"},
			"ClusterRole/system:flotilla_x", "rbac.authorization.k8s.io/ClusterRole//system:flotilla_x"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if diff := cmp.Diff(tt.str, tt.obj.String()); diff != "" {
				t.Errorf("String() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.id, tt.obj.ID()); diff != "" {
				t.Errorf("ID() (-want +got):\n%s", diff)
			}
			parsed, err := inventory.ParseID(tt.obj.ID())
			if err != nil {
				t.Fatalf("ParseID: %v", err)
			}
			want := tt.obj
			want.Version = ""
			if diff := cmp.Diff(want, parsed); diff != "" {
				t.Errorf("ParseID(ID()) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIDRejects(t *testing.T) {
	for _, id := range []string{"", "Deployment/shop/web", "apps/Deployment/shop/web/x", "apps//shop/web", "apps/Deployment/shop/"} {
		t.Run(id, func(t *testing.T) {
			if _, err := inventory.ParseID(id); !errors.Is(err, inventory.ErrInvalidID) {
				t.Errorf("ParseID(%q) error = %v, want ErrInvalidID", id, err)
			}
		})
	}
}

func TestFromObject(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetNamespace("shop")
	u.SetName("web")
	if diff := cmp.Diff(deploy, inventory.FromObject(u)); diff != "" {
		t.Errorf("FromObject (-want +got):\n%s", diff)
	}
}

func TestSetKeysAndVersions(t *testing.T) {
	widgetV1 := widget
	widgetV1.Version = "v1"
	tests := []struct {
		name string
		add  []inventory.ObjMetadata
		want []inventory.ObjMetadata
		str  string
	}{
		{"empty", nil, []inventory.ObjMetadata{}, ""},
		{"sorted by group, kind, namespace, name", []inventory.ObjMetadata{widget, deploy, ns, cm, crd},
			[]inventory.ObjMetadata{cm, ns, crd, deploy, widget},
			"ConfigMap/shop/settings, Namespace/shop, CustomResourceDefinition/widgets.example.com, Deployment/shop/web, Widget/shop/w"},
		{"duplicates collapse", []inventory.ObjMetadata{cm, cm, cm}, []inventory.ObjMetadata{cm}, "ConfigMap/shop/settings"},
		{"one identity across versions, last version kept", []inventory.ObjMetadata{widget, widgetV1},
			[]inventory.ObjMetadata{widgetV1}, "Widget/shop/w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inventory.NewSet(tt.add...)
			if diff := cmp.Diff(tt.want, s.Keys()); diff != "" {
				t.Errorf("Keys() (-want +got):\n%s", diff)
			}
			if s.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", s.Len(), len(tt.want))
			}
			if diff := cmp.Diff(tt.str, s.String()); diff != "" {
				t.Errorf("String() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDifferenceAndUnion(t *testing.T) {
	widgetV1 := widget
	widgetV1.Version = "v1"
	other := inventory.ObjMetadata{Version: "v1", Kind: "ConfigMap", Namespace: "other", Name: "settings"}
	tests := []struct {
		name                 string
		previous, current    []inventory.ObjMetadata
		wantStale, wantUnion []inventory.ObjMetadata
	}{
		{"nothing before", nil, []inventory.ObjMetadata{cm}, []inventory.ObjMetadata{}, []inventory.ObjMetadata{cm}},
		{"nothing now", []inventory.ObjMetadata{deploy, cm}, nil, []inventory.ObjMetadata{cm, deploy}, []inventory.ObjMetadata{cm, deploy}},
		{"one left", []inventory.ObjMetadata{deploy, cm, ns}, []inventory.ObjMetadata{deploy, ns},
			[]inventory.ObjMetadata{cm}, []inventory.ObjMetadata{cm, ns, deploy}},
		{"same", []inventory.ObjMetadata{deploy, cm}, []inventory.ObjMetadata{cm, deploy},
			[]inventory.ObjMetadata{}, []inventory.ObjMetadata{cm, deploy}},
		{"a new version is not stale, and wins the union", []inventory.ObjMetadata{widget}, []inventory.ObjMetadata{widgetV1},
			[]inventory.ObjMetadata{}, []inventory.ObjMetadata{widgetV1}},
		{"same name in another namespace is stale", []inventory.ObjMetadata{cm}, []inventory.ObjMetadata{other},
			[]inventory.ObjMetadata{cm}, []inventory.ObjMetadata{other, cm}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, cur := inventory.NewSet(tt.previous...), inventory.NewSet(tt.current...)
			if diff := cmp.Diff(tt.wantStale, prev.Difference(cur).Keys()); diff != "" {
				t.Errorf("Difference (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUnion, prev.Union(cur).Keys()); diff != "" {
				t.Errorf("Union (-want +got):\n%s", diff)
			}
			if prev.Len() != len(inventory.NewSet(tt.previous...).Keys()) {
				t.Error("Difference or Union changed its receiver")
			}
		})
	}
}

func TestZeroSet(t *testing.T) {
	var zero inventory.Set
	if zero.Len() != 0 || zero.Has(cm) || zero.String() != "" {
		t.Error("the zero Set is not empty")
	}
	if diff := cmp.Diff([]inventory.ObjMetadata{cm}, inventory.NewSet(cm).Difference(zero).Keys()); diff != "" {
		t.Errorf("Difference(zero) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]inventory.ObjMetadata{cm}, zero.Union(inventory.NewSet(cm)).Keys()); diff != "" {
		t.Errorf("zero.Union (-want +got):\n%s", diff)
	}
}

func TestResourceStatusRoundTrip(t *testing.T) {
	in := []flotillav1.ResourceStatus{
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web",
			Sync: flotillav1.SyncStatusSynced, Health: flotillav1.HealthHealthy, Message: "ok"},
		{Version: "v1", Kind: "Namespace", Name: "shop"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"},
	}
	s := inventory.FromResourceStatus(in)
	if diff := cmp.Diff([]inventory.ObjMetadata{cm, ns, deploy}, s.Keys()); diff != "" {
		t.Errorf("FromResourceStatus (-want +got):\n%s", diff)
	}
	if !s.Has(inventory.KeyOf(in[0])) {
		t.Error("KeyOf(entry) is not in the set read from the entries")
	}
	want := []flotillav1.ResourceStatus{
		{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"},
		{Version: "v1", Kind: "Namespace", Name: "shop"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
	}
	if diff := cmp.Diff(want, inventory.ToResourceStatus(s)); diff != "" {
		t.Errorf("ToResourceStatus (-want +got):\n%s", diff)
	}
	if got := inventory.ToResourceStatus(inventory.Set{}); got == nil || len(got) != 0 {
		t.Errorf("ToResourceStatus of the empty set = %#v, want an empty non-nil slice", got)
	}
}
