package apply_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

func cmKey(ns, name string) inventory.ObjMetadata {
	return inventory.ObjMetadata{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: name}
}

func nsKey(name string) inventory.ObjMetadata {
	return inventory.ObjMetadata{Version: "v1", Kind: "Namespace", Name: name}
}

// applied applies objs for owner and fails the test if anything is not
// Created or Unchanged.
func applied(t *testing.T, m *apply.Manager, owner apply.Owner, objs ...*unstructured.Unstructured) *apply.ChangeSet {
	t.Helper()
	cs, err := m.Apply(t.Context(), objs, apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n := len(cs.Filter(apply.ActionCreated, apply.ActionUnchanged)); n != len(objs) {
		t.Fatalf("Apply:\n%s", cs)
	}
	return cs
}

// actions maps each object of cs to its action, for cmp.Diff.
func actions(cs *apply.ChangeSet) map[string]apply.Action {
	out := map[string]apply.Action{}
	for _, c := range cs.Changes {
		out[c.Object.String()] = c.Action
	}
	return out
}

func message(cs *apply.ChangeSet, object string) string {
	for _, c := range cs.Changes {
		if c.Object.String() == object {
			return c.Message
		}
	}
	return ""
}

func TestPruneDeletesOnlyWhatItOwns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	pvc := obj(t, `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: %s}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`, ns)
	applied(t, m, owner, configMap(t, ns, "mine", "1"), configMap(t, ns, "moved", "1"), configMap(t, ns, "relabeled", "1"), pvc)

	// Another Application took "moved" over; someone copied our annotation
	// but changed the label of "relabeled"; "foreign" was never ours.
	other := newOwner(t, "other")
	patchMeta(t, ns, "moved", flotillav1.OwnerAnnotation, other.Annotation(), "annotations")
	patchMeta(t, ns, "relabeled", flotillav1.TrackingLabel, "other", "labels")
	createConfigMap(t, ns, "foreign", "theirs", nil)
	reqs.Writes()

	pvcKey := inventory.ObjMetadata{Version: "v1", Kind: "PersistentVolumeClaim", Namespace: ns, Name: "data"}
	stale := []inventory.ObjMetadata{cmKey(ns, "mine"), cmKey(ns, "moved"), cmKey(ns, "relabeled"), cmKey(ns, "foreign"), cmKey(ns, "gone"), pvcKey}
	cs, err := m.Prune(ctx, stale, owner, apply.PruneOptions{})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	want := map[string]apply.Action{
		"ConfigMap/" + ns + "/mine":             apply.ActionDeleted,
		"ConfigMap/" + ns + "/moved":            apply.ActionSkipped,
		"ConfigMap/" + ns + "/relabeled":        apply.ActionSkipped,
		"ConfigMap/" + ns + "/foreign":          apply.ActionSkipped,
		"ConfigMap/" + ns + "/gone":             apply.ActionDeleted,
		"PersistentVolumeClaim/" + ns + "/data": apply.ActionSkipped,
	}
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Errorf("Prune (-want +got):\n%s", diff)
	}
	for obj, part := range map[string]string{
		"ConfigMap/" + ns + "/moved":            other.String(),
		"ConfigMap/" + ns + "/relabeled":        flotillav1.TrackingLabel,
		"ConfigMap/" + ns + "/foreign":          "not managed by Flotilla",
		"ConfigMap/" + ns + "/gone":             "already gone",
		"PersistentVolumeClaim/" + ns + "/data": "PersistentVolumeClaims is not enabled",
	} {
		if msg := message(cs, obj); !strings.Contains(msg, part) {
			t.Errorf("%s: message %q does not say %q", obj, msg, part)
		}
	}
	// What stays in the inventory: objects still carrying this owner's
	// annotation; "moved" and "foreign" are not the Application's any more.
	wantRemaining := []inventory.ObjMetadata{cmKey(ns, "relabeled"), pvcKey}
	if diff := cmp.Diff(wantRemaining, inventory.NewSet(cs.Remaining()...).Keys()); diff != "" {
		t.Errorf("Remaining (-want +got):\n%s", diff)
	}
	if w := reqs.Writes(); len(w) != 1 || !strings.HasSuffix(w[0], "/configmaps/mine") || !strings.HasPrefix(w[0], "DELETE") {
		t.Errorf("writes = %v, want one DELETE of configmaps/mine", w)
	}
	for _, name := range []string{"moved", "relabeled", "foreign"} {
		configMapValue(t, ns, name) // fails the test if it is gone
	}
	if _, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "mine", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap mine still there after prune (get: %v)", err)
	}

	cs, err = m.Prune(ctx, []inventory.ObjMetadata{pvcKey}, owner, apply.PruneOptions{PersistentVolumeClaims: true})
	if err != nil || cs.Count(apply.ActionDeleted) != 1 {
		t.Errorf("Prune of the PVC when allowed: %v\n%s", err, cs)
	}
}

func TestPruneKeepsNamespacesThatHoldOthersObjects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	shared, private := uniqueName(t, "shared"), uniqueName(t, "private")
	m, _ := newManager(t)
	owner := newOwner(t, "shop")
	applied(t, m, owner,
		obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: %s}}", shared),
		obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: %s}}", private),
		configMap(t, shared, "mine", "1"), configMap(t, private, "mine", "1"))
	createConfigMap(t, shared, "theirs", "x", nil)
	stale := []inventory.ObjMetadata{nsKey(shared), nsKey(private), cmKey(shared, "mine"), cmKey(private, "mine")}

	cs, err := m.Prune(ctx, stale, owner, apply.PruneOptions{})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	want := map[string]apply.Action{
		"Namespace/" + shared:            apply.ActionSkipped,
		"Namespace/" + private:           apply.ActionSkipped,
		"ConfigMap/" + shared + "/mine":  apply.ActionDeleted,
		"ConfigMap/" + private + "/mine": apply.ActionDeleted,
	}
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Errorf("Prune, namespaces not allowed (-want +got):\n%s", diff)
	}

	cs, err = m.Prune(ctx, stale, owner, apply.PruneOptions{Namespaces: true})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	want["Namespace/"+private] = apply.ActionDeleted
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Errorf("Prune, namespaces allowed (-want +got):\n%s", diff)
	}
	if msg := message(cs, "Namespace/"+shared); !strings.Contains(msg, "ConfigMap/"+shared+"/theirs") {
		t.Errorf("the shared namespace's message %q does not name the foreign ConfigMap", msg)
	}
	live, err := kube(t).CoreV1().Namespaces().Get(ctx, shared, metav1.GetOptions{})
	if err != nil || live.DeletionTimestamp != nil {
		t.Errorf("namespace %s holding a foreign object was deleted (get: %v)", shared, err)
	}
	// No namespace controller runs here, so a deleted namespace stays Terminating.
	live, err = kube(t).CoreV1().Namespaces().Get(ctx, private, metav1.GetOptions{})
	if err == nil && live.DeletionTimestamp == nil {
		t.Errorf("namespace %s was not deleted", private)
	}
}

func TestPruneCRDsOnlyWhenAllowedAndEmptyOfOthers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	group := uniqueName(t, "g") + ".flotilla.test"
	m, _ := newManager(t)
	owner := newOwner(t, "widgets")
	applied(t, m, owner, widgetCRD(t, group), widget(t, ns, group, "mine", 1))
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
	if _, err := dyn(t).Resource(gvr).Namespace(ns).Create(ctx, widget(t, ns, group, "theirs", 2), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a foreign Widget: %v", err)
	}
	crdKey := inventory.ObjMetadata{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets." + group}
	mineKey := inventory.ObjMetadata{Group: group, Version: "v1", Kind: "Widget", Namespace: ns, Name: "mine"}

	cs, err := m.Prune(ctx, []inventory.ObjMetadata{crdKey}, owner, apply.PruneOptions{})
	if err != nil || cs.Count(apply.ActionSkipped) != 1 || !strings.Contains(cs.Changes[0].Message, "not enabled") {
		t.Errorf("Prune of a CRD by default: %v\n%s", err, cs)
	}
	cs, err = m.Prune(ctx, []inventory.ObjMetadata{crdKey, mineKey}, owner, apply.PruneOptions{CustomResourceDefinitions: true})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	want := map[string]apply.Action{"CustomResourceDefinition/widgets." + group: apply.ActionSkipped, "Widget/" + ns + "/mine": apply.ActionDeleted}
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Errorf("Prune of a CRD with a foreign resource (-want +got):\n%s", diff)
	}
	if msg := message(cs, "CustomResourceDefinition/widgets."+group); !strings.Contains(msg, "Widget/"+ns+"/theirs") {
		t.Errorf("message %q does not name the foreign Widget", msg)
	}

	if err := dyn(t).Resource(gvr).Namespace(ns).Delete(ctx, "theirs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err = m.Prune(ctx, []inventory.ObjMetadata{crdKey}, owner, apply.PruneOptions{CustomResourceDefinitions: true})
	if err != nil || cs.Count(apply.ActionDeleted) != 1 {
		t.Errorf("Prune of an emptied CRD: %v\n%s", err, cs)
	}
}

// patchMeta sets metadata.<field>[key] = value on a ConfigMap, as someone
// other than Flotilla.
func patchMeta(t *testing.T, ns, name, key, value, field string) {
	t.Helper()
	cm, err := kube(t).CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if field == "labels" {
		cm.Labels[key] = value
	} else {
		cm.Annotations[key] = value
	}
	if _, err := kube(t).CoreV1().ConfigMaps(ns).Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
