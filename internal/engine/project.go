package engine

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/project"
)

// admit checks the source and the destination against the Application's
// Project before anything is fetched.
func (e *Engine) admit(ctx context.Context, s *syncState) error {
	policy, err := project.CompileWith(s.req.Project, e.opts.Project)
	if err != nil {
		return stalled(flotillav1.ReasonProjectViolation, err)
	}
	s.policy = policy
	if err := policy.CheckSource(s.app.Spec.Source.RepoURL); err != nil {
		return stalled(flotillav1.ReasonProjectViolation, err)
	}
	if err := policy.CheckDestination(s.result.Cluster, s.app.Spec.Destination.Namespace); err != nil {
		return stalled(flotillav1.ReasonProjectViolation, err)
	}
	return nil
}

// enforce checks every object the sync would apply against the Project,
// before anything is applied, and switches to the Project's ServiceAccount
// when it names one.
func (e *Engine) enforce(ctx context.Context, s *syncState) error {
	refs := make([]project.ObjectRef, 0, s.result.Desired.Len())
	for _, key := range s.result.Desired.Keys() {
		refs = append(refs, project.NewObjectRef(key, key.Namespace != ""))
	}
	for _, h := range s.plan.Hooks() {
		key, err := s.manager.HookKey(ctx, h.Object, s.applyOptions())
		if err != nil {
			return s.applyError(err, flotillav1.ReasonDryRunFailed)
		}
		refs = append(refs, project.NewObjectRef(key, key.Namespace != ""))
	}
	if err := s.policy.CheckObjects(s.result.Cluster, refs); err != nil {
		return stalled(flotillav1.ReasonProjectViolation, err)
	}
	user := s.policy.ImpersonationUser(s.app.Spec.Destination.Namespace)
	if user == "" {
		return nil
	}
	m, err := s.target.impersonating(ctx, s.policy.ServiceAccount(), s.app.Spec.Destination.Namespace, user)
	if err != nil {
		return err
	}
	s.manager = m
	return nil
}

// impersonating returns the apply manager that acts as the ServiceAccount
// sa of namespace. The ServiceAccount must exist: a missing one is an
// error, never a fall-back to the controller's own identity.
func (m *managerEntry) impersonating(ctx context.Context, sa, namespace, user string) (*apply.Manager, error) {
	_, err := m.clients.Kube.CoreV1().ServiceAccounts(namespace).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, stalled(flotillav1.ReasonProjectViolation, fmt.Errorf(
				"the Project's serviceAccount %s does not exist in namespace %s of the destination; nothing is applied as anyone else", sa, namespace))
		}
		return nil, failed(flotillav1.ReasonClusterUnavailable, fmt.Errorf("read ServiceAccount %s/%s: %w", namespace, sa, err))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if am, ok := m.impersonated[user]; ok {
		return am, nil
	}
	dyn, err := m.clients.Impersonating(user)
	if err != nil {
		return nil, failed(flotillav1.ReasonClusterUnavailable, err)
	}
	o := apply.DefaultOptions()
	o.Live = m.watcher
	am := apply.NewSharedManager(dyn, m.clients.Discovery, m.clients.Mapper, o)
	m.impersonated[user] = am
	return am, nil
}

// forbidden reports whether the cluster refused the request on RBAC grounds.
func forbidden(err error) bool {
	var se apierrors.APIStatus
	return apierrors.IsForbidden(err) || errors.As(err, &se) && se.Status().Reason == metav1.StatusReasonForbidden
}

// ReadProject reads the Project name ("default" when empty) of namespace.
// A missing "default" is the built-in default (nil); any other missing
// Project is a ProjectViolation.
func ReadProject(ctx context.Context, c client.Reader, namespace, name string) (*flotillav1.Project, error) {
	if name == "" {
		name = flotillav1.DefaultProject
	}
	var p flotillav1.Project
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &p)
	switch {
	case err == nil:
		return &p, nil
	case apierrors.IsNotFound(err) && name == flotillav1.DefaultProject:
		return nil, nil
	case apierrors.IsNotFound(err):
		return nil, stalled(flotillav1.ReasonProjectViolation, fmt.Errorf("project %s does not exist", name))
	default:
		return nil, err
	}
}

// CompileProject compiles p (nil: the built-in default) with opts, whose
// OwnNamespace is the namespace the controller runs in. A broken Project is
// a ProjectViolation that only a change to it can fix.
func CompileProject(p *flotillav1.Project, opts project.Options) (*project.Policy, error) {
	pol, err := project.CompileWith(p, opts)
	if err != nil {
		return nil, projectViolation(err)
	}
	return pol, nil
}

// projectViolation makes err, a violation of a Project's rule, the error of
// a sync or a Fleet: reason ProjectViolation, stalled until the
// Application, the Fleet or the Project changes.
func projectViolation(err error) error {
	return stalled(flotillav1.ReasonProjectViolation, err)
}
