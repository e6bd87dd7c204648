package apply

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// The kinds of failure that are not the API server's, for errors.Is. The
// API server's own (Invalid, Forbidden, Conflict …) are reached with
// apierrors.IsInvalid and friends, or errors.As to *apierrors.StatusError.
var (
	// ErrInvalidOwner: the Owner lacks a namespace, name or uid, or its name
	// cannot be a label value.
	ErrInvalidOwner = errors.New("invalid owner")
	// ErrInvalidObject: an object cannot be applied as given (no name, no
	// namespace and no default namespace, given twice).
	ErrInvalidObject = errors.New("invalid object")
	// ErrUnknownKind: the cluster serves no such kind and version, and no
	// CustomResourceDefinition of the same Apply defines it.
	ErrUnknownKind = errors.New("unknown kind")
	// ErrNotEstablished: a CustomResourceDefinition was not Established and
	// served within Options.CRDTimeout.
	ErrNotEstablished = errors.New("not established")
)

// Op names the step that failed for an object.
type Op string

const (
	// OpValidate: checks made before anything is sent (kind served,
	// namespace known, no duplicates).
	OpValidate Op = "validation"
	// OpRead: reading the live object.
	OpRead Op = "read"
	// OpDryRun: the server-side dry-run apply.
	OpDryRun Op = "dry-run"
	// OpApply: the server-side apply itself.
	OpApply Op = "apply"
	// OpWait: waiting for a CustomResourceDefinition to be Established.
	OpWait Op = "wait"
	// OpPrune: reading, checking or deleting an object to prune.
	OpPrune Op = "prune"
)

// ObjectError is the failure of one object. Its message names the object and
// the step, and the API server's reason when there is one:
//
//	Deployment/shop/web: dry-run failed (Invalid): Deployment.apps "web" is invalid: …
//
// Reason is the v1alpha1 condition reason the failure maps to
// (ReasonDryRunFailed, ReasonApplyFailed or ReasonPruneFailed). For a
// Secret, no value of its data appears in the message.
type ObjectError struct {
	Object inventory.ObjMetadata
	Op     Op
	Reason string
	Err    error
}

func (e *ObjectError) Error() string { return e.Object.String() + ": " + e.Detail() }

// Detail is the message without the object's name, for a ChangeSet entry.
func (e *ObjectError) Detail() string {
	s := string(e.Op) + " failed"
	if r := apierrors.ReasonForError(e.Err); r != metav1.StatusReasonUnknown {
		s += " (" + string(r) + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *ObjectError) Unwrap() error { return e.Err }

// newObjectError builds the ObjectError of obj, with err scrubbed of obj's
// Secret values if obj is a Secret.
func newObjectError(key inventory.ObjMetadata, obj *unstructured.Unstructured, op Op, reason string, err error) *ObjectError {
	return &ObjectError{Object: key, Op: op, Reason: reason, Err: redact(err, obj)}
}

const (
	redacted = "[redacted]"
	withheld = "the API server's message is withheld: it may contain Secret data"
	// Values shorter than this are not replaced inside a message (that would
	// mangle it); a message that contains one is withheld whole.
	minReplaceLen = 4
)

// redact removes the values of a Secret from an error about it. The API
// server echoes invalid values in some messages; a Secret's must never reach
// a status, event or log.
func redact(err error, obj *unstructured.Unstructured) error {
	if err == nil || obj == nil || obj.GroupVersionKind().GroupKind() != secretGK {
		return err
	}
	values := secretValues(obj)
	if len(values) == 0 {
		return err
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		st := *se.ErrStatus.DeepCopy()
		st.Message = scrub(st.Message, values)
		if st.Details != nil {
			for i := range st.Details.Causes {
				st.Details.Causes[i].Message = scrub(st.Details.Causes[i].Message, values)
			}
		}
		return &apierrors.StatusError{ErrStatus: st}
	}
	if msg := err.Error(); scrub(msg, values) != msg {
		return errors.New(scrub(msg, values))
	}
	return err
}

// secretValues lists a Secret's values as they may appear in a message: the
// base64 text of data, its decoded form, and stringData. Longest first, so
// that a value that contains another is replaced whole.
func secretValues(obj *unstructured.Unstructured) []string {
	var vals []string
	data, _, _ := unstructured.NestedMap(obj.Object, "data")
	for _, v := range data {
		s, _ := v.(string)
		vals = append(vals, s)
		if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
			vals = append(vals, string(dec))
		}
	}
	stringData, _, _ := unstructured.NestedMap(obj.Object, "stringData")
	for _, v := range stringData {
		s, _ := v.(string)
		vals = append(vals, s, base64.StdEncoding.EncodeToString([]byte(s)))
	}
	vals = slices.DeleteFunc(vals, func(s string) bool { return s == "" })
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	return vals
}

func scrub(msg string, values []string) string {
	for _, v := range values {
		if !strings.Contains(msg, v) {
			continue
		}
		if len(v) < minReplaceLen {
			return withheld
		}
		msg = strings.ReplaceAll(msg, v, redacted)
	}
	return msg
}
