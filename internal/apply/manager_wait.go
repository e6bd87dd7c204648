package apply

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

var (
	namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crdGVR       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// waitForCRDs waits, up to Options.CRDTimeout, until every CRD among plans
// is Established. A CRD whose names are not accepted fails at once.
func (m *Manager) waitForCRDs(ctx context.Context, plans []plan) error {
	var errs []error
	for _, p := range plans {
		if p.obj.key.GroupKind() != crdGK || p.action == ActionConflict {
			continue
		}
		if err := m.waitEstablished(ctx, p.obj.key.Name); err != nil {
			errs = append(errs, newObjectError(p.obj.key, nil, OpWait, flotillav1.ReasonApplyFailed, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) waitEstablished(ctx context.Context, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, m.opts.PollInterval, m.opts.CRDTimeout, true, func(ctx context.Context) (bool, error) {
		crd, err := m.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		established, accepted, msg := crdConditions(crd)
		last = msg
		if accepted == metav1.ConditionFalse {
			return false, fmt.Errorf("names not accepted: %s", msg)
		}
		return established == metav1.ConditionTrue, nil
	})
	if err != nil && wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("%w within %s: %s", ErrNotEstablished, m.opts.CRDTimeout, last)
	}
	return err
}

// crdConditions reads the Established and NamesAccepted conditions of a CRD,
// and the message of the first one not True.
func crdConditions(crd *unstructured.Unstructured) (established, accepted metav1.ConditionStatus, msg string) {
	established, accepted = metav1.ConditionUnknown, metav1.ConditionUnknown
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		typ, _ := cm["type"].(string)
		status, _ := cm["status"].(string)
		message, _ := cm["message"].(string)
		switch typ {
		case "Established":
			established = metav1.ConditionStatus(status)
		case "NamesAccepted":
			accepted = metav1.ConditionStatus(status)
		default:
			continue
		}
		if status != string(metav1.ConditionTrue) && msg == "" {
			msg = message
		}
	}
	return established, accepted, msg
}

// resolveDeferred resolves the mappings of objects whose kind a CRD of this
// Apply defines. The CRD is Established by now, but discovery may lag it a
// little: rediscover until the kind is served, up to Options.CRDTimeout.
func (m *Manager) resolveDeferred(ctx context.Context, batch []*object) error {
	var errs []error
	for _, o := range batch {
		if o.mapping != nil {
			continue
		}
		gvk := o.key.GroupVersionKind()
		var last error
		err := wait.PollUntilContextTimeout(ctx, m.opts.PollInterval, m.opts.CRDTimeout, true, func(ctx context.Context) (bool, error) {
			mp, err := m.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
			if err == nil {
				o.mapping = mp
				return true, nil
			}
			last = err
			if !meta.IsNoMatchError(err) {
				return false, err
			}
			m.mapper.ResetWithContext(ctx)
			return false, nil
		})
		if err != nil {
			if wait.Interrupted(err) && ctx.Err() == nil {
				err = fmt.Errorf("%w: %s is not served within %s after its CustomResourceDefinition was applied: %w",
					ErrUnknownKind, gvk.Kind, m.opts.CRDTimeout, last)
			}
			errs = append(errs, newObjectError(o.key, o.u, OpWait, flotillav1.ReasonApplyFailed, err))
		}
	}
	return errors.Join(errs...)
}
