package apply_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

func TestCompareTellsWithoutWriting(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	newNS := uniqueName(t, "n")
	group := uniqueName(t, "g") + ".flotilla.test"
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	applied(t, m, owner, configMap(t, ns, "same", "1"), configMap(t, ns, "changed", "1"))
	createConfigMap(t, ns, "theirs", "x", nil)
	reqs.Writes()

	desired := []*unstructured.Unstructured{
		configMap(t, ns, "same", "1"),
		configMap(t, ns, "changed", "2"),
		configMap(t, ns, "new", "1"),
		configMap(t, ns, "theirs", "1"),
		obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: %s}}", newNS),
		configMap(t, newNS, "inside", "1"),
		widgetCRD(t, group),
		widget(t, ns, group, "w", 1),
	}
	cs, err := m.Compare(ctx, desired, apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	want := []string{
		"Namespace/" + newNS + " Created",
		"CustomResourceDefinition/widgets." + group + " Created",
		"ConfigMap/" + ns + "/same Unchanged",
		"ConfigMap/" + ns + "/changed Configured",
		"ConfigMap/" + ns + "/new Created",
		"ConfigMap/" + ns + "/theirs Conflict",
		"ConfigMap/" + newNS + "/inside Created",
		"Widget/" + ns + "/w Created",
	}
	if diff := cmp.Diff(want, changes(cs)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	if msg := message(cs, "Widget/"+ns+"/w"); !strings.Contains(msg, "CustomResourceDefinition is applied first") {
		t.Errorf("Widget message = %q", msg)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("Compare sent writes: %v", w)
	}
	if got := configMapValue(t, ns, "changed"); got != "1" {
		t.Errorf("Compare changed a ConfigMap to %q", got)
	}
	if _, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "new", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Compare created a ConfigMap (get: %v)", err)
	}

	inv, err := m.Inventory(ctx, desired, apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("Inventory sent writes: %v", w)
	}

	// What Compare promised is what Apply does.
	applyCS, err := m.Apply(ctx, desired, apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if diff := cmp.Diff(changes(cs), changes(applyCS)); diff != "" {
		t.Errorf("Apply did other than Compare said (-compare +apply):\n%s", diff)
	}
	// The conflicting ConfigMap is not the Application's; all else is.
	if diff := cmp.Diff(inv.Keys(), applyCS.Inventory().Union(inventory.NewSet(cmKey(ns, "theirs"))).Keys()); diff != "" {
		t.Errorf("Inventory before Apply (-before +applied):\n%s", diff)
	}
}
