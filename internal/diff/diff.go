package diff

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Options says how a Differ compares objects.
type Options struct {
	// IgnoreDifferences are the Application's rules: fields that are not
	// drift. They are checked by New.
	IgnoreDifferences []flotillav1.IgnoreDifference
	// ContextLines is the number of unchanged lines shown around each change
	// in a text diff. Zero or negative takes DefaultOptions' value.
	ContextLines int
}

// DefaultOptions returns no ignore rules and 3 lines of context, as diff -u
// and git diff show.
func DefaultOptions() Options {
	return Options{ContextLines: 3}
}

// Differ compares desired and live objects under one set of ignore rules.
// It holds no state between calls and is safe for concurrent use.
type Differ struct {
	rules   []rule
	context int
}

// New checks opts.IgnoreDifferences and returns a Differ. A rule that cannot
// be used (no kind, a group with a version, a JSON pointer that is not RFC
// 6901, an empty manager name) is an error naming it, a *RuleError matching
// ErrInvalidRule, before any object is diffed.
func New(opts Options) (*Differ, error) {
	rules, err := compileRules(opts.IgnoreDifferences)
	if err != nil {
		return nil, err
	}
	if opts.ContextLines <= 0 {
		opts.ContextLines = DefaultOptions().ContextLines
	}
	return &Differ{rules: rules, context: opts.ContextLines}, nil
}

// Key names an object: group ("" for the core group), kind, namespace (""
// for cluster-scoped objects) and name. The version is left out: an object
// is the same whatever version it is read at.
type Key struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// KeyOf names u.
func KeyOf(u *unstructured.Unstructured) Key {
	gvk := u.GroupVersionKind()
	return Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// String writes k as "Kind.group/namespace/name", after kubectl's
// "kind.group" form: "Deployment.apps/shop/web", "Secret/shop/db",
// "ClusterRole.rbac.authorization.k8s.io/admin".
func (k Key) String() string {
	s := k.Kind
	if k.Group != "" {
		s += "." + k.Group
	}
	if k.Namespace != "" {
		s += "/" + k.Namespace
	}
	return s + "/" + k.Name
}

// Compare orders keys by group, kind, namespace and name.
func (k Key) Compare(o Key) int {
	return cmp.Or(
		cmp.Compare(k.Group, o.Group),
		cmp.Compare(k.Kind, o.Kind),
		cmp.Compare(k.Namespace, o.Namespace),
		cmp.Compare(k.Name, o.Name),
	)
}

func (k Key) isSecret() bool { return k.Group == "" && k.Kind == "Secret" }

// Action is what it takes to make the live object the desired one.
type Action string

const (
	// ActionCreate: the object is desired and does not exist.
	ActionCreate Action = "Create"
	// ActionDelete: the object exists and is not desired.
	ActionDelete Action = "Delete"
	// ActionUpdate: both exist and differ.
	ActionUpdate Action = "Update"
	// ActionNone: both exist and do not differ.
	ActionNone Action = "None"
)

// Result is the difference of one object, after normalization.
type Result struct {
	Object Key    `json:"object"`
	Action Action `json:"action"`
	// Changed is true unless Action is ActionNone.
	Changed bool `json:"changed"`
	// Paths are the changed fields, as RFC 6901 JSON pointers in document
	// order (the form ignoreDifferences takes): a field or list element
	// present on one side only, or a value that differs. For Create and
	// Delete they are the top-level fields of the one side.
	Paths []string `json:"paths,omitempty"`
	// Diff is a unified diff from the live to the desired object, both as
	// normalized YAML with sorted keys, under the names "live/<object>"
	// and "desired/<object>". It is empty when nothing changed.
	Diff string `json:"diff,omitempty"`
	// Desired and Live are the two sides the diff compares: normalized
	// YAML with sorted keys, ignored fields left out, a Secret's values
	// masked; empty for a side that does not exist. They are filled when
	// something changed, for a view that shows both sides.
	Desired string `json:"-"`
	Live    string `json:"-"`
}

// String returns the unified diff, or one line saying the object did not
// change.
func (r Result) String() string {
	if !r.Changed {
		return r.Object.String() + ": unchanged\n"
	}
	return r.Diff
}

// Object diffs one object. desired is the object as the API server would
// store it (the result of a server-side apply dry-run, defaults filled in),
// nil when it is to be deleted; live is the object in the cluster, nil when
// it is to be created. Neither is modified.
//
// Errors are *ObjectError values: both nil (ErrNoObject), two different
// objects (ErrMismatch), no kind or name or not JSON (ErrInvalidObject),
// live managedFields that cannot be read while a managedFieldsManagers rule
// applies (ErrManagedFields).
func (d *Differ) Object(desired, live *unstructured.Unstructured) (Result, error) {
	key, err := identify(desired, live)
	if err != nil {
		return Result{}, &ObjectError{Object: key, Err: err}
	}
	r, err := d.object(key, desired, live)
	if err != nil {
		return Result{}, &ObjectError{Object: key, Err: err}
	}
	return r, nil
}

func (d *Differ) object(key Key, desired, live *unstructured.Unstructured) (Result, error) {
	dm, err := tree(desired, "desired")
	if err != nil {
		return Result{}, err
	}
	lm, err := tree(live, "live")
	if err != nil {
		return Result{}, err
	}
	rules, managers := matching(d.rules, key)
	owned, err := ownedFields(lm, managers)
	if err != nil {
		return Result{}, err
	}
	for _, m := range []map[string]any{dm, lm} {
		if m == nil {
			continue
		}
		normalize(m)
		if key.isSecret() {
			foldStringData(m)
		}
		ignore(m, rules, owned)
	}
	if key.isSecret() {
		maskSecret(dm, lm)
	}
	return d.compare(key, dm, lm)
}

// ignore removes from obj what the rules ignore: their pointers' targets,
// and the fields their managers own in the live object.
func ignore(obj map[string]any, rules []rule, owned *fieldpath.Set) {
	for _, r := range rules {
		for _, p := range r.pointers {
			remove(obj, pointerSteps(p))
		}
	}
	removeOwned(obj, owned)
}

// compare builds the Result of two normalized trees (either may be nil).
func (d *Differ) compare(key Key, desired, live map[string]any) (Result, error) {
	r := Result{Object: key}
	switch {
	case live == nil:
		r.Action = ActionCreate
		r.Paths = changedPaths(map[string]any{}, desired)
	case desired == nil:
		r.Action = ActionDelete
		r.Paths = changedPaths(live, map[string]any{})
	default:
		r.Paths = changedPaths(live, desired)
		r.Action = ActionUpdate
		if len(r.Paths) == 0 {
			r.Action = ActionNone
		}
	}
	r.Changed = r.Action != ActionNone
	if !r.Changed {
		return r, nil
	}
	dy, err := toYAML(desired)
	if err != nil {
		return Result{}, fmt.Errorf("%w: desired: cannot be written as YAML", ErrInvalidObject)
	}
	ly, err := toYAML(live)
	if err != nil {
		return Result{}, fmt.Errorf("%w: live: cannot be written as YAML", ErrInvalidObject)
	}
	name := key.String()
	r.Desired, r.Live = dy, ly
	r.Diff = unified("live/"+name, "desired/"+name, splitLines(ly), splitLines(dy), d.context)
	return r, nil
}

func toYAML(m map[string]any) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := yaml.Marshal(m)
	return string(b), err
}

// identify names the object and checks that desired and live are the same
// one.
func identify(desired, live *unstructured.Unstructured) (Key, error) {
	var key Key
	switch {
	case desired != nil:
		key = KeyOf(desired)
	case live != nil:
		key = KeyOf(live)
	default:
		return key, ErrNoObject
	}
	if key.Kind == "" || key.Name == "" {
		return key, fmt.Errorf("%w: no kind or no name", ErrInvalidObject)
	}
	if desired != nil && live != nil {
		if lk := KeyOf(live); lk != key {
			return key, fmt.Errorf("%w: live is %s", ErrMismatch, lk)
		}
	}
	return key, nil
}

// tree returns a normalizable copy of u, nil for nil.
func tree(u *unstructured.Unstructured, side string) (map[string]any, error) {
	if u == nil {
		return nil, nil
	}
	m, err := canonical(u.Object)
	if err != nil {
		// The encoder's message may quote a value; it is left out.
		return nil, fmt.Errorf("%w: %s: not encodable as JSON", ErrInvalidObject, side)
	}
	return m, nil
}

// Pair is one object's desired and live state; either may be nil.
type Pair struct {
	Desired *unstructured.Unstructured
	Live    *unstructured.Unstructured
}

// Report is the difference of many objects.
type Report struct {
	// Results are sorted by object (Key.Compare).
	Results []Result `json:"results"`
}

// Changed says whether any object changed.
func (r Report) Changed() bool {
	return slices.ContainsFunc(r.Results, func(res Result) bool { return res.Changed })
}

// String returns the unified diffs of the objects that changed, one after
// the other: one patch for the whole set, empty when nothing changed.
func (r Report) String() string {
	var sb strings.Builder
	for _, res := range r.Results {
		if res.Changed {
			sb.WriteString(res.Diff)
		}
	}
	return sb.String()
}

// Objects diffs every pair. An object that cannot be diffed does not stop
// the others: the Report holds every other object, and the error joins an
// *ObjectError per failed one (prefixed with its position when it has no
// name).
func (d *Differ) Objects(pairs []Pair) (Report, error) {
	var rep Report
	var errs []error
	for i, p := range pairs {
		res, err := d.Object(p.Desired, p.Live)
		if err != nil {
			if oe, ok := errors.AsType[*ObjectError](err); ok && oe.Object == (Key{}) {
				err = fmt.Errorf("objects[%d]: %w", i, err)
			}
			errs = append(errs, err)
			continue
		}
		rep.Results = append(rep.Results, res)
	}
	slices.SortStableFunc(rep.Results, func(a, b Result) int { return a.Object.Compare(b.Object) })
	return rep, errors.Join(errs...)
}
