package apply_test

import (
	"errors"
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

// workload is a small application of common kinds; the Deployment and the
// Service leave their namespace to ApplyOptions.DefaultNamespace.
func workload(t *testing.T, ns string) []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		configMap(t, ns, "settings", "v1"),
		obj(t, `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: %s}
stringData: {password: hunter2-canary}
`, ns),
		obj(t, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: %s}
`, ns),
		obj(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: web, namespace: %s}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
`, ns),
		obj(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web, namespace: %s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web}
subjects: [{kind: ServiceAccount, name: web, namespace: %s}]
`, ns, ns),
		obj(t, `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`),
		obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: "registry.example/web:1.0", ports: [{containerPort: 8080}]}]
`),
	}
}

func TestApplyCreatesThenReapplySendsNoWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	objs := workload(t, ns)
	before := copies(objs)
	opts := apply.ApplyOptions{Owner: owner, DefaultNamespace: ns}

	cs, err := m.Apply(ctx, objs, opts)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{
		"ConfigMap/" + ns + "/settings Created",
		"Secret/" + ns + "/creds Created",
		"ServiceAccount/" + ns + "/web Created",
		"Role/" + ns + "/web Created",
		"RoleBinding/" + ns + "/web Created",
		"Service/" + ns + "/web Created",
		"Deployment/" + ns + "/web Created",
	}
	if diff := cmp.Diff(want, changes(cs)); diff != "" {
		t.Errorf("first Apply (-want +got):\n%s", diff)
	}
	// A new object costs its dry-run and its apply, and no read: the
	// dry-run's answer says it does not exist yet.
	if got := reqs.DryRuns(); got != len(objs) {
		t.Errorf("first Apply sent %d dry-runs, want %d", got, len(objs))
	}
	if got := reqs.Reads(); len(got) != 0 {
		t.Errorf("first Apply read the objects it created: %v", got)
	}
	if got := len(reqs.Writes()); got != len(objs) {
		t.Errorf("first Apply sent %d writes, want %d", got, len(objs))
	}
	if diff := cmp.Diff(before, objs); diff != "" {
		t.Errorf("Apply modified the caller's objects (-before +after):\n%s", diff)
	}

	live, err := kube(t).AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the Deployment: %v", err)
	}
	if got := live.Labels[flotillav1.TrackingLabel]; got != "shop" {
		t.Errorf("tracking label = %q, want %q", got, "shop")
	}
	if got := live.Annotations[flotillav1.OwnerAnnotation]; got != owner.Annotation() {
		t.Errorf("owner annotation = %q, want %q", got, owner.Annotation())
	}
	if !managedBy(live.ManagedFields, flotillav1.FieldManager, metav1.ManagedFieldsOperationApply) {
		t.Errorf("the Deployment's fields are not applied by %q: %+v", flotillav1.FieldManager, live.ManagedFields)
	}

	// Server-set metadata in the input (an object exported from a cluster)
	// is not sent: a stale resourceVersion would make the apply fail.
	again := workload(t, ns)
	again[0].SetResourceVersion("1")
	again[0].SetUID("0b0e7c1e-0000-0000-0000-000000000000")
	cs, err = m.Apply(ctx, again, opts)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if got := cs.Count(apply.ActionUnchanged); got != len(objs) {
		t.Errorf("second Apply: %d unchanged, want %d:\n%s", got, len(objs), cs)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("re-applying an unchanged state sent writes: %v", w)
	}
	if cs.String() != "no changes" || cs.Summary() != "7 unchanged" {
		t.Errorf("String() = %q, Summary() = %q", cs.String(), cs.Summary())
	}
	if inv := cs.Inventory(); inv.Len() != len(objs) || !inv.Has(inventory.ObjMetadata{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: ns, Name: "web"}) {
		t.Errorf("Inventory = %v, want the %d objects, in namespace %s", inv.Keys(), len(objs), ns)
	}
}

func TestApplyConfiguresOnlyTheChangedObject(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	desired := func(b string) []*unstructured.Unstructured {
		return []*unstructured.Unstructured{configMap(t, ns, "a", "1"), configMap(t, ns, "b", b), configMap(t, ns, "c", "1")}
	}
	if _, err := m.Apply(ctx, desired("1"), apply.ApplyOptions{Owner: owner}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	reqs.Writes()

	cs, err := m.Apply(ctx, desired("2"), apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{"ConfigMap/" + ns + "/a Unchanged", "ConfigMap/" + ns + "/b Configured", "ConfigMap/" + ns + "/c Unchanged"}
	if diff := cmp.Diff(want, changes(cs)); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("ConfigMap/"+ns+"/b configured", cs.String()); diff != "" {
		t.Errorf("String() (-want +got):\n%s", diff)
	}
	if w := reqs.Writes(); len(w) != 1 || !strings.HasSuffix(w[0], "/configmaps/b") {
		t.Errorf("writes = %v, want one PATCH of configmaps/b", w)
	}

	// Drift: someone edits a field Flotilla applies; the next Apply puts it back.
	live, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Data["key"] = "edited"
	if _, err := kube(t).CoreV1().ConfigMaps(ns).Update(ctx, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err = m.Apply(ctx, desired("2"), apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := cs.Filter(apply.ActionConfigured); len(got) != 1 || got[0].Object.Name != "c" {
		t.Errorf("after drift, configured = %v, want ConfigMap c only", got)
	}
	if got := configMapValue(t, ns, "c"); got != "1" {
		t.Errorf("after Apply, c = %q, want %q", got, "1")
	}

	// A field left out of the desired state is removed from the object.
	withLabel := configMap(t, ns, "a", "1")
	withLabel.SetLabels(map[string]string{"tier": "front"})
	if _, err := m.Apply(ctx, []*unstructured.Unstructured{withLabel}, apply.ApplyOptions{Owner: owner}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	cs, err = m.Apply(ctx, []*unstructured.Unstructured{configMap(t, ns, "a", "1")}, apply.ApplyOptions{Owner: owner})
	if err != nil || cs.Count(apply.ActionConfigured) != 1 {
		t.Fatalf("Apply without the label: %v\n%s", err, cs)
	}
	live, err = kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "a", metav1.GetOptions{})
	if err != nil || live.Labels["tier"] != "" {
		t.Errorf("the label left out is still there (%v): %v", err, live.GetLabels())
	}
}

func TestApplyCRDAndCustomResourceTogether(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	group := uniqueName(t, "g") + ".flotilla.test"
	m, reqs := newManager(t)
	owner := newOwner(t, "widgets")
	objs := []*unstructured.Unstructured{widget(t, ns, group, "w1", 3), widgetCRD(t, group)}

	cs, err := m.Apply(ctx, objs, apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{
		"CustomResourceDefinition/widgets." + group + " Created",
		"Widget/" + ns + "/w1 Created",
	}
	if diff := cmp.Diff(want, changes(cs)); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
	live, err := dyn(t).Resource(gvr).Namespace(ns).Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the Widget: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(live.Object, "spec", "size"); size != 3 {
		t.Errorf("Widget spec.size = %d, want 3", size)
	}
	reqs.Writes()

	cs, err = m.Apply(ctx, objs, apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if cs.Count(apply.ActionUnchanged) != 2 {
		t.Errorf("second Apply:\n%s", cs)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("re-applying a CRD and its resource sent writes: %v", w)
	}
}

func TestApplyRejectedObjectWritesNothingOfItsStage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, reqs := newManager(t)
	bad := obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %s}
spec:
  replicas: -1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example/web:1.0"}]}
`, ns)
	objs := []*unstructured.Unstructured{configMap(t, ns, "settings", "v1"), bad, configMap(t, ns, "more", "v1")}

	cs, err := m.Apply(ctx, objs, apply.ApplyOptions{Owner: newOwner(t, "shop")})
	if err == nil {
		t.Fatal("Apply of an invalid Deployment succeeded")
	}
	var oe *apply.ObjectError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *ObjectError", err)
	}
	if oe.Object.String() != "Deployment/"+ns+"/web" || oe.Op != apply.OpDryRun || oe.Reason != flotillav1.ReasonDryRunFailed {
		t.Errorf("ObjectError = {%s %s %s}, want the Deployment, dry-run, DryRunFailed", oe.Object, oe.Op, oe.Reason)
	}
	if !apierrors.IsInvalid(err) {
		t.Errorf("apierrors.IsInvalid(%v) = false", err)
	}
	if prefix := "Deployment/" + ns + "/web: dry-run failed (Invalid): "; !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error = %q, want it to start with %q", err, prefix)
	}
	if diff := cmp.Diff([]string{"Deployment/" + ns + "/web Failed"}, changes(cs)); diff != "" {
		t.Errorf("ChangeSet (-want +got):\n%s", diff)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("a refused stage sent writes: %v", w)
	}
	if _, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the valid ConfigMap of the refused stage was written (get: %v)", err)
	}
}

func TestApplyUnknownKindIsAClearError(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	newNS := uniqueName(t, "n")
	m, reqs := newManager(t)
	objs := []*unstructured.Unstructured{
		obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: %s}}", newNS),
		configMap(t, ns, "settings", "v1"),
		obj(t, "{apiVersion: gadgets.flotilla.test/v1, kind: Gadget, metadata: {name: g, namespace: %s}}", ns),
	}
	_, err := m.Apply(ctx, objs, apply.ApplyOptions{Owner: newOwner(t, "shop")})
	if !errors.Is(err, apply.ErrUnknownKind) {
		t.Fatalf("Apply error = %v, want ErrUnknownKind", err)
	}
	var oe *apply.ObjectError
	if !errors.As(err, &oe) || oe.Object.String() != "Gadget/"+ns+"/g" {
		t.Fatalf("error %v does not name Gadget/%s/g", err, ns)
	}
	for _, part := range []string{"Gadget", "gadgets.flotilla.test/v1", "CustomResourceDefinition"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("an Apply with an unknown kind sent writes: %v", w)
	}

	// A kind the cluster serves, in a version it no longer serves.
	old := obj(t, "{apiVersion: apps/v1beta1, kind: Deployment, metadata: {name: web, namespace: %s}}", ns)
	_, err = m.Apply(ctx, []*unstructured.Unstructured{old}, apply.ApplyOptions{Owner: newOwner(t, "shop")})
	if want := "the cluster serves Deployment in apps/v1, not in apps/v1beta1"; !errors.Is(err, apply.ErrUnknownKind) || !strings.Contains(err.Error(), want) {
		t.Errorf("Apply of apps/v1beta1 error = %v, want %q", err, want)
	}
	if _, err := kube(t).CoreV1().Namespaces().Get(ctx, newNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Namespace was created although the Apply was refused (get: %v)", err)
	}
}

func TestApplyDoesNotTakeOverOthersObjects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	other := newOwner(t, "other")
	createConfigMap(t, ns, "unowned", "theirs", nil)
	createConfigMap(t, ns, "others", "theirs", map[string]string{flotillav1.OwnerAnnotation: other.Annotation()})
	desired := func() []*unstructured.Unstructured {
		return []*unstructured.Unstructured{configMap(t, ns, "unowned", "ours"), configMap(t, ns, "others", "ours")}
	}

	cs, err := m.Apply(ctx, desired(), apply.ApplyOptions{Owner: owner})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got := cs.Filter(apply.ActionConflict)
	if len(got) != 2 || got[0].CurrentOwner != "" || got[1].CurrentOwner != other.Annotation() {
		t.Fatalf("conflicts = %+v, want both ConfigMaps, the second owned by %s", got, other.Annotation())
	}
	if !strings.Contains(got[0].Message, "not managed by Flotilla; delete it") || !strings.Contains(got[1].Message, other.String()) {
		t.Errorf("conflict messages = %q, %q", got[0].Message, got[1].Message)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("conflicting objects were written: %v", w)
	}
	for _, name := range []string{"unowned", "others"} {
		if v := configMapValue(t, ns, name); v != "theirs" {
			t.Errorf("ConfigMap %s = %q after a conflict, want it untouched", name, v)
		}
	}

	cs, err = m.Apply(ctx, desired(), apply.ApplyOptions{Owner: owner, AdoptUnowned: true})
	if err != nil {
		t.Fatalf("Apply with AdoptUnowned: %v", err)
	}
	want := []string{"ConfigMap/" + ns + "/unowned Configured", "ConfigMap/" + ns + "/others Conflict"}
	if diff := cmp.Diff(want, changes(cs)); diff != "" {
		t.Errorf("Apply with AdoptUnowned (-want +got):\n%s", diff)
	}
	if configMapValue(t, ns, "unowned") != "ours" || configMapValue(t, ns, "others") != "theirs" {
		t.Error("AdoptUnowned did not adopt the unowned ConfigMap only")
	}
}

func TestApplyCreateNamespace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := uniqueName(t, "n")
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	opts := apply.ApplyOptions{Owner: owner, DefaultNamespace: ns, CreateNamespace: true}
	objs := []*unstructured.Unstructured{obj(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings}}")}

	cs, err := m.Apply(ctx, objs, opts)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{"Namespace/" + ns + " Created", "ConfigMap/" + ns + "/settings Created"}
	if diff := cmp.Diff(want, changes(cs)); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	live, err := kube(t).CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || live.Annotations[flotillav1.OwnerAnnotation] != owner.Annotation() {
		t.Fatalf("namespace %s: %v, annotations %v", ns, err, live.GetAnnotations())
	}
	reqs.Writes()
	cs, err = m.Apply(ctx, objs, opts)
	if err != nil || cs.Count(apply.ActionUnchanged) != 2 {
		t.Errorf("second Apply: %v\n%s", err, cs)
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("second Apply sent writes: %v", w)
	}

	// A namespace that exists and is not the Application's is used, not claimed.
	existing := newNamespace(t)
	cs, err = m.Apply(ctx, objs, apply.ApplyOptions{Owner: owner, DefaultNamespace: existing, CreateNamespace: true})
	if err != nil {
		t.Fatalf("Apply into an existing namespace: %v", err)
	}
	if diff := cmp.Diff([]string{"ConfigMap/" + existing + "/settings Created"}, changes(cs)); diff != "" {
		t.Errorf("Apply into an existing namespace (-want +got):\n%s", diff)
	}

	// A sync whose Inventory decided to create the namespace does not read
	// it again; if someone else made it since, it is a Conflict, not claimed.
	cs, err = m.Apply(ctx, objs, apply.ApplyOptions{Owner: owner, DefaultNamespace: existing, CreateNamespace: true, NamespaceChecked: true})
	if err == nil && !cs.Has(apply.ActionConflict) {
		t.Fatalf("Apply creating a namespace another made: no conflict\n%s", cs)
	}
	live, err = kube(t).CoreV1().Namespaces().Get(ctx, existing, metav1.GetOptions{})
	if err != nil || live.Annotations[flotillav1.OwnerAnnotation] != "" {
		t.Fatalf("namespace %s taken over: %v, annotations %v", existing, err, live.GetAnnotations())
	}
}

func TestApplyRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m, reqs := newManager(t)
	owner := newOwner(t, "shop")
	cm := obj(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings}}")
	tests := []struct {
		name  string
		owner apply.Owner
		objs  []*unstructured.Unstructured
		opts  apply.ApplyOptions
		want  error
	}{
		{"owner without uid", apply.Owner{Namespace: "flotilla-system", Name: "shop"}, nil, apply.ApplyOptions{}, apply.ErrInvalidOwner},
		{"owner name too long for a label", apply.Owner{Namespace: "a", Name: strings.Repeat("x", 64), UID: "u"}, nil, apply.ApplyOptions{}, apply.ErrInvalidOwner},
		{"no namespace and no default", owner, []*unstructured.Unstructured{cm}, apply.ApplyOptions{}, apply.ErrInvalidObject},
		{"given twice", owner, []*unstructured.Unstructured{cm, cm}, apply.ApplyOptions{DefaultNamespace: "default"}, apply.ErrInvalidObject},
		{"nil object", owner, []*unstructured.Unstructured{nil}, apply.ApplyOptions{}, apply.ErrInvalidObject},
		{"create namespace without a name", owner, nil, apply.ApplyOptions{CreateNamespace: true}, apply.ErrInvalidObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Owner = tt.owner
			_, err := m.Apply(ctx, tt.objs, opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Apply error = %v, want %v", err, tt.want)
			}
		})
	}
	if w := reqs.Writes(); len(w) != 0 {
		t.Errorf("refused input sent writes: %v", w)
	}
}

func widgetCRD(t *testing.T, group string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.%s}
spec:
  group: %s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`, group, group)
}

func widget(t *testing.T, ns, group, name string, size int) *unstructured.Unstructured {
	return obj(t, `
apiVersion: %s/v1
kind: Widget
metadata: {name: %s, namespace: %s}
spec: {size: %d}
`, group, name, ns, size)
}

func createConfigMap(t *testing.T, ns, name, value string, annotations map[string]string) {
	t.Helper()
	cm := configMap(t, ns, name, value)
	cm.SetAnnotations(annotations)
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	if _, err := dyn(t).Resource(gvr).Namespace(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ConfigMap %s/%s: %v", ns, name, err)
	}
}

func configMapValue(t *testing.T, ns, name string) string {
	t.Helper()
	cm, err := kube(t).CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading ConfigMap %s/%s: %v", ns, name, err)
	}
	return cm.Data["key"]
}

func managedBy(fields []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType) bool {
	for _, f := range fields {
		if f.Manager == manager && f.Operation == op {
			return true
		}
	}
	return false
}
