package apply_test

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
)

// Hooks with a generated name are created afresh each time, marked as the
// owner's hook and never tracked; DeleteHooks removes exactly the earlier
// runs of the same hook of the same owner.
func TestHooksGeneratedNames(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, _ := newManager(t)
	owner, other := newOwner(t, "shop"), newOwner(t, "other")
	seed := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: seed-, labels: {%s: forged}}\ndata: {a: b}\n", flotillav1.TrackingLabel)
	warm := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: warm-}\n")
	opts := apply.ApplyOptions{Owner: owner, DefaultNamespace: ns}

	var names []string
	for range 2 {
		c, err := m.CreateHook(ctx, seed, opts)
		if err != nil || c.Action != apply.ActionCreated || !strings.HasPrefix(c.Object.Name, "seed-") || c.Object.Namespace != ns {
			t.Fatalf("CreateHook = %v, %v; want a ConfigMap seed-… Created in %s", c, err, ns)
		}
		names = append(names, c.Object.Name)
	}
	if names[0] == names[1] {
		t.Fatalf("two runs of the hook share the name %s", names[0])
	}
	live, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, tracked := live.Labels[flotillav1.TrackingLabel]; tracked || live.Labels[flotillav1.HookLabel] != "shop" ||
		live.Annotations[flotillav1.OwnerAnnotation] != owner.Annotation() || live.Annotations[flotillav1.HookNameAnnotation] != "seed-" {
		t.Errorf("hook labels %v, annotations %v: want the hook label and annotations, no tracking label", live.Labels, live.Annotations)
	}
	otherSeed, err := m.CreateHook(ctx, seed, apply.ApplyOptions{Owner: other, DefaultNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	warmRun, err := m.CreateHook(ctx, warm, opts)
	if err != nil {
		t.Fatal(err)
	}

	cs, err := m.DeleteHooks(ctx, seed, opts)
	if err != nil {
		t.Fatalf("DeleteHooks: %v", err)
	}
	if cs.Count(apply.ActionDeleted) != 2 {
		t.Errorf("DeleteHooks: %v, want the 2 runs of seed- deleted", changes(cs))
	}
	for _, name := range names {
		if _, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s is still there after DeleteHooks (err %v)", name, err)
		}
	}
	for _, keep := range []string{otherSeed.Object.Name, warmRun.Object.Name} {
		if _, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, keep, metav1.GetOptions{}); err != nil {
			t.Errorf("%s, another owner's or another hook's, was deleted: %v", keep, err)
		}
	}

	// DeleteHook removes one run, the owner's only.
	if c, err := m.DeleteHook(ctx, warmRun.Object, owner); err != nil || c.Action != apply.ActionDeleted {
		t.Errorf("DeleteHook of the owner's hook = %v, %v", c, err)
	}
	if c, err := m.DeleteHook(ctx, otherSeed.Object, owner); err != nil || c.Action != apply.ActionSkipped {
		t.Errorf("DeleteHook of another's hook = %v, %v; want it Skipped", c, err)
	}
}

// A named hook is kept while it exists, and never takes over an object that
// is not the owner's hook.
func TestHooksNamed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := newNamespace(t)
	m, _ := newManager(t)
	owner := newOwner(t, "shop")
	opts := apply.ApplyOptions{Owner: owner, DefaultNamespace: ns}
	once := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: once}\n")
	if c, err := m.CreateHook(ctx, once, opts); err != nil || c.Action != apply.ActionCreated || c.Object.Name != "once" {
		t.Fatalf("CreateHook = %v, %v", c, err)
	}
	if c, err := m.CreateHook(ctx, once, opts); err != nil || c.Action != apply.ActionUnchanged {
		t.Errorf("CreateHook of an existing hook = %v, %v; want Unchanged", c, err)
	}
	c, err := m.CreateHook(ctx, once, apply.ApplyOptions{Owner: newOwner(t, "other"), DefaultNamespace: ns})
	var oe *apply.ObjectError
	if c.Action != apply.ActionConflict || !errors.As(err, &oe) || oe.Reason != flotillav1.ReasonOwnershipConflict {
		t.Errorf("CreateHook over another's hook = %v, %v; want a Conflict", c, err)
	}
	if _, err := m.CreateHook(ctx, obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"), opts); !errors.Is(err, apply.ErrInvalidObject) {
		t.Errorf("CreateHook without a name or generateName: %v, want ErrInvalidObject", err)
	}
}
