package diff

import (
	"errors"
	"fmt"
	"strings"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Any, as the group, kind, namespace or name of an ignoreDifferences rule,
// matches every value.
const Any = "*"

// rule is an ignoreDifferences rule, checked and parsed.
type rule struct {
	src      flotillav1.IgnoreDifference
	pointers []Pointer
	managers []string
}

// compileRules checks every rule and parses its pointers. The error names
// the first rule that cannot be used, as a *RuleError.
func compileRules(rules []flotillav1.IgnoreDifference) ([]rule, error) {
	out := make([]rule, 0, len(rules))
	for i, src := range rules {
		r, err := compileRule(src)
		if err != nil {
			return nil, &RuleError{Index: i, Rule: src, Err: err}
		}
		out = append(out, r)
	}
	return out, nil
}

func compileRule(src flotillav1.IgnoreDifference) (rule, error) {
	r := rule{src: src}
	switch {
	case src.Kind == "":
		return r, errors.New(`kind is required (use "*" for every kind)`)
	case strings.Contains(src.Group, "/"):
		return r, fmt.Errorf("group %s holds a version; give the group alone (%s)",
			plain(src.Group, 253), plain(src.Group[:strings.Index(src.Group, "/")], 253))
	case len(src.JSONPointers) == 0 && len(src.ManagedFieldsManagers) == 0:
		return r, errors.New("names neither jsonPointers nor managedFieldsManagers")
	}
	for i, s := range src.JSONPointers {
		p, err := ParsePointer(s)
		if err != nil {
			return r, fmt.Errorf("jsonPointers[%d]: %w", i, err)
		}
		if len(p) == 0 {
			return r, fmt.Errorf(`jsonPointers[%d]: the empty pointer would ignore the whole object`, i)
		}
		r.pointers = append(r.pointers, p)
	}
	for i, m := range src.ManagedFieldsManagers {
		if m == "" {
			return r, fmt.Errorf("managedFieldsManagers[%d] is empty", i)
		}
		r.managers = append(r.managers, m)
	}
	return r, nil
}

// matches says whether the rule applies to the object k. The group must be
// the object's ("" is the core group) and the kind its kind; an empty
// namespace or name matches every one. Any ("*") matches every group, kind,
// namespace or name.
func (r rule) matches(k Key) bool {
	return field(r.src.Group, k.Group, false) &&
		field(r.src.Kind, k.Kind, false) &&
		field(r.src.Namespace, k.Namespace, true) &&
		field(r.src.Name, k.Name, true)
}

func field(want, got string, emptyIsAny bool) bool {
	return want == Any || want == got || (emptyIsAny && want == "")
}

// matching returns the rules that apply to k, and the managers they name.
func matching(rules []rule, k Key) ([]rule, map[string]bool) {
	var out []rule
	var managers map[string]bool
	for _, r := range rules {
		if !r.matches(k) {
			continue
		}
		out = append(out, r)
		for _, m := range r.managers {
			if managers == nil {
				managers = map[string]bool{}
			}
			managers[m] = true
		}
	}
	return out, managers
}
