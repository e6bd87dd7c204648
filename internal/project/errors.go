package project

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// ErrViolation is wrapped by every error of a check: something an
	// Application asked for is outside its Project. The engine reports it
	// with the reason v1alpha1.ReasonProjectViolation; retrying cannot help
	// until the Application or the Project changes.
	ErrViolation = errors.New("project violation")
	// ErrInvalidProject is wrapped by Compile's errors: a pattern or name in
	// the Project is broken, so nothing can be checked against it.
	ErrInvalidProject = errors.New("invalid project")
)

// Rule names the Project field whose rule was broken: the field to change,
// in the Project or in the Application, to fix it.
type Rule string

const (
	RuleSourceRepos                Rule = "sourceRepos"
	RuleDestinations               Rule = "destinations"
	RuleClusterResourceWhitelist   Rule = "clusterResourceWhitelist"
	RuleNamespaceResourceBlacklist Rule = "namespaceResourceBlacklist"
	RuleServiceAccount             Rule = "serviceAccount"
	RuleSecrets                    Rule = "secrets"
)

// ViolationError is one broken rule. Its message names the Project, what
// broke the rule and how:
//
//	project team-a: source https://git.example.com/team-b/app is not in sourceRepos
//	project team-a: destination staging/kube-system is not in destinations
//	project team-a: ClusterRole/admin-all: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not in clusterResourceWhitelist
//
// A repository URL appears normalized, so never with its userinfo; a name
// holding anything but printable characters is quoted.
type ViolationError struct {
	// Project is the Project's name.
	Project string
	// Rule is the field whose rule was broken.
	Rule Rule
	// Subject names what broke it: "source <url>", "destination
	// <cluster>/<namespace>" (or "destination <cluster>" for no namespace),
	// or an object as Kind/namespace/name or Kind/name.
	Subject string
	// Detail says how: after the Subject for a source or destination ("is
	// not in destinations"), a clause of its own for an object.
	Detail string
	// Object is the object checked, for a violation of CheckObjects; nil
	// otherwise.
	Object *ObjectRef
}

func (e *ViolationError) Error() string {
	if e.Object != nil {
		return "project " + clean(e.Project) + ": " + e.Subject + ": " + e.Detail
	}
	return "project " + clean(e.Project) + ": " + e.Subject + " " + e.Detail
}

// Is makes errors.Is(err, ErrViolation) true.
func (e *ViolationError) Is(target error) bool { return target == ErrViolation }

// Violations is what CheckObjects returns: every violation found, sorted by
// subject and rule, each once, at most Options.MaxViolations of them.
// errors.Is(err, ErrViolation) holds, and errors.As finds the first
// *ViolationError.
type Violations struct {
	// Project is the Project's name.
	Project string
	// List holds the violations, sorted.
	List []*ViolationError
	// More counts the violations found but left out of List.
	More int
}

func (v *Violations) Error() string {
	if len(v.List) == 1 && v.More == 0 {
		return v.List[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "project %s: %d violations: ", clean(v.Project), len(v.List)+v.More)
	for i, e := range v.List {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Subject + ": " + e.Detail)
	}
	if v.More > 0 {
		fmt.Fprintf(&b, "; and %d more", v.More)
	}
	return b.String()
}

// Unwrap returns the violations listed, for errors.Is and errors.As.
func (v *Violations) Unwrap() []error {
	errs := make([]error, len(v.List))
	for i, e := range v.List {
		errs[i] = e
	}
	return errs
}

// newViolations sorts and de-duplicates list and keeps the first max; nil
// when list is empty.
func newViolations(project string, list []*ViolationError, limit int) error {
	if len(list) == 0 {
		return nil
	}
	slices.SortFunc(list, func(a, b *ViolationError) int {
		return cmp.Or(
			strings.Compare(a.Subject, b.Subject),
			strings.Compare(string(a.Rule), string(b.Rule)),
			strings.Compare(a.Detail, b.Detail))
	})
	list = slices.CompactFunc(list, func(a, b *ViolationError) bool {
		return a.Subject == b.Subject && a.Rule == b.Rule && a.Detail == b.Detail
	})
	v := &Violations{Project: project, List: list}
	if len(list) > limit {
		v.List, v.More = list[:limit:limit], len(list)-limit
	}
	return v
}

// clean returns s as it is when it is printable and has no spaces, and
// quoted otherwise, so that a hostile name cannot forge a message or a log
// line.
func clean(s string) string {
	if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// quote quotes s, for a pattern in an error.
func quote(s string) string { return strconv.Quote(s) }
