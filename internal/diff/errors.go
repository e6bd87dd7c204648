package diff

import (
	"errors"
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// The kinds of failure, for errors.Is.
var (
	// ErrInvalidRule: an ignoreDifferences rule cannot be used (no kind, a
	// group with a version in it, a bad JSON pointer, an empty manager
	// name). New returns it, as a *RuleError, before any object is diffed.
	ErrInvalidRule = errors.New("invalid ignoreDifferences rule")
	// ErrInvalidPointer: a string is not an RFC 6901 JSON pointer.
	ErrInvalidPointer = errors.New("invalid JSON pointer")
	// ErrNoObject: neither a desired nor a live object was given.
	ErrNoObject = errors.New("neither a desired nor a live object given")
	// ErrMismatch: the desired and the live object are not the same object
	// (group, kind, namespace and name differ).
	ErrMismatch = errors.New("desired and live are different objects")
	// ErrInvalidObject: an object has no kind or name, or is not JSON.
	ErrInvalidObject = errors.New("invalid object")
	// ErrManagedFields: the live object's metadata.managedFields cannot be
	// read, so managedFieldsManagers rules cannot be applied to it.
	ErrManagedFields = errors.New("unreadable managedFields")
)

// ObjectError is the failure to diff one object. Its message names the
// object; it never holds a value of the object (a Secret's data, say).
type ObjectError struct {
	// Object is the object, when it could be named.
	Object Key
	Err    error
}

func (e *ObjectError) Error() string {
	if e.Object == (Key{}) {
		return e.Err.Error()
	}
	return e.Object.String() + ": " + e.Err.Error()
}

func (e *ObjectError) Unwrap() error { return e.Err }

// RuleError is an ignoreDifferences rule that cannot be used. It names the
// rule by its index and what it matches:
//
//	ignoreDifferences[1] (Deployment.apps): jsonPointers[0]: invalid JSON pointer "spec/replicas": must be empty or start with "/"
type RuleError struct {
	Index int
	Rule  flotillav1.IgnoreDifference
	Err   error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("ignoreDifferences[%d] (%s): %v", e.Index, describeRule(e.Rule), e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Is makes every RuleError match ErrInvalidRule.
func (e *RuleError) Is(target error) bool { return target == ErrInvalidRule }

// describeRule names what a rule matches: "Deployment.apps",
// "ConfigMap in shop named settings", "group apps" (no kind). Each part is cut short, and quoted
// when it holds anything a Kubernetes name cannot.
func describeRule(r flotillav1.IgnoreDifference) string {
	var s string
	switch {
	case r.Kind != "" && r.Group != "":
		s = plain(r.Kind, 63) + "." + plain(r.Group, 253)
	case r.Kind != "":
		s = plain(r.Kind, 63)
	case r.Group != "":
		s = "group " + plain(r.Group, 253)
	default:
		s = "no kind"
	}
	if r.Namespace != "" {
		s += " in " + plain(r.Namespace, 63)
	}
	if r.Name != "" {
		s += " named " + plain(r.Name, 253)
	}
	return s
}

// plain returns s as it is when it is short and made of the characters of
// Kubernetes names and kinds (and "*"), and quoted and cut to max bytes
// otherwise.
func plain(s string, max int) string {
	ok := len(s) <= max
	for _, c := range s {
		if !ok {
			break
		}
		ok = c == '-' || c == '.' || c == '*' || (c >= '0' && c <= '9') ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	if ok {
		return s
	}
	return fmt.Sprintf("%.*q", max, s)
}
