package apply

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

func secret(data, stringData map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret"}}
	u.SetName("creds")
	u.SetNamespace("shop")
	if data != nil {
		u.Object["data"] = data
	}
	if stringData != nil {
		u.Object["stringData"] = stringData
	}
	return u
}

func invalid(value string) error {
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "creds", field.ErrorList{
		field.Invalid(field.NewPath("data", "password"), value, "bad value"),
	})
}

func TestObjectErrorsCarryNoSecretData(t *testing.T) {
	const canary = "canary-Zx81-secret"
	// base64 of the canary, as it appears in data.
	const canary64 = "Y2FuYXJ5LVp4ODEtc2VjcmV0"
	tests := []struct {
		name string
		obj  *unstructured.Unstructured
		err  error
	}{
		{"stringData echoed", secret(nil, map[string]any{"password": canary}), invalid(canary)},
		{"data echoed encoded", secret(map[string]any{"password": canary64}, nil), invalid(canary64)},
		{"data echoed decoded", secret(map[string]any{"password": canary64}, nil), invalid(canary)},
		{"not an API error", secret(nil, map[string]any{"password": canary}), errors.New("decode " + canary)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := inventory.FromObject(tt.obj)
			oe := newObjectError(key, tt.obj, OpDryRun, flotillav1.ReasonDryRunFailed, tt.err)
			msg := oe.Error()
			if strings.Contains(msg, canary) || strings.Contains(msg, canary64) {
				t.Errorf("error leaks the Secret: %s", msg)
			}
			if !strings.HasPrefix(msg, "Secret/shop/creds: dry-run failed") {
				t.Errorf("error = %q, want it to name the Secret and the step", msg)
			}
			var se *apierrors.StatusError
			if errors.As(oe, &se) {
				for _, c := range se.ErrStatus.Details.Causes {
					if strings.Contains(c.Message, canary) {
						t.Errorf("cause leaks the Secret: %s", c.Message)
					}
				}
				if !apierrors.IsInvalid(oe) {
					t.Error("redaction lost the Invalid reason")
				}
			}
		})
	}
}

func TestShortSecretValuesWithholdTheMessage(t *testing.T) {
	obj := secret(nil, map[string]any{"pin": "42"})
	oe := newObjectError(inventory.FromObject(obj), obj, OpApply, flotillav1.ReasonApplyFailed, invalid("42"))
	if strings.Contains(oe.Error(), "42") {
		t.Errorf("error leaks a short Secret value: %s", oe)
	}
}

func TestObjectErrorFormat(t *testing.T) {
	key := inventory.ObjMetadata{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	tests := []struct {
		name string
		err  *ObjectError
		want string
	}{
		{"API reason", &ObjectError{Object: key, Op: OpDryRun, Err: apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New("no"))},
			`Deployment/shop/web: dry-run failed (Forbidden): deployments.apps "web" is forbidden: no`},
		{"no API reason", &ObjectError{Object: key, Op: OpWait, Err: ErrNotEstablished},
			"Deployment/shop/web: wait failed: not established"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
