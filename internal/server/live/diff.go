package live

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/diff"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Diff returns what a sync of the Application to revision ("" for its
// current one: a rollback's pinned revision, else spec.source.targetRevision)
// would change: each rendered object's normalized diff against the live one
// (the engine's preview: the Project's rules, the source's credentials,
// verification and decryption exactly as the controller applies them, a
// dry-run, nothing written), and a Delete for each object of the
// inventory that left the source. Secret values are masked by
// internal/diff: "++++++++" a desired value that differs, "--------" the
// live one, "********" a value that is the same on both sides.
func (r *Reader) Diff(ctx context.Context, app *flotillav1.Application, revision string) (*wire.Diff, error) {
	// Before the source is fetched: an agent-mode cluster has no diff here.
	// Other errors of the cluster are the preview's to report.
	if _, err := r.resolve(ctx, app); errors.Is(err, ErrAgentMode) {
		return nil, err
	}
	if r.opts.Previewer == nil {
		return nil, fmt.Errorf("%w: this server does not compute diffs", ErrUnavailable)
	}
	req, err := r.previewRequest(ctx, app, revision)
	if err != nil {
		return nil, err
	}
	p, err := r.opts.Previewer.Preview(ctx, req)
	if err != nil {
		return nil, previewError(err)
	}
	out := &wire.Diff{Revision: p.Revision, Resources: []wire.ResourceDiff{}}
	for _, o := range p.Objects {
		out.Resources = append(out.Resources, resourceDiff(o.Change.Object, o.Diff))
	}
	stale, err := r.staleDiffs(ctx, app, p.Stale)
	if err != nil {
		return nil, err
	}
	out.Resources = append(out.Resources, stale...)
	return out, nil
}

// previewRequest reads what a sync needs from the hub, as the controller
// does: the Project, then the source's Secrets under its rules.
func (r *Reader) previewRequest(ctx context.Context, app *flotillav1.Application, revision string) (engine.Request, error) {
	proj, err := engine.ReadProject(ctx, r.opts.Hub, app.Namespace, app.Spec.Project)
	if err != nil {
		return engine.Request{}, previewError(err)
	}
	policy, err := engine.CompileProject(proj, r.opts.Projects)
	if err != nil {
		return engine.Request{}, previewError(err)
	}
	acc := engine.SecretAccess{Reader: r.opts.Uncached, Clusters: r.opts.Hub, Policy: policy, Namespace: app.Namespace}
	secrets, err := acc.SourceSecrets(ctx, app.Spec.Source)
	if err != nil {
		return engine.Request{}, previewError(err)
	}
	if revision == "" && app.Status.Pin != nil {
		revision = app.Status.Pin.Revision
	}
	return engine.Request{
		App: app, Project: proj, Revision: revision,
		Credentials: secrets.Credentials, ChartCredentials: secrets.Charts,
		Verify: secrets.Verify, Decryption: secrets.Decryption,
		Previous: inventory.FromResourceStatus(app.Status.Resources),
	}, nil
}

// previewError classes an engine error: one only a change of the
// Application, its Project or its source can fix is a bad request, any
// other unavailable. Engine messages are written for status conditions and
// hold no secret.
func previewError(err error) error {
	var ee *engine.Error
	switch {
	case engine.IsStalled(err):
		return fmt.Errorf("%w: %s: %w", ErrBadRequest, engine.ReasonOf(err, ""), err)
	case errors.As(err, &ee):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, ee.Reason, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// staleDiffs shows the objects that left the source and that a sync with
// prune would delete: those still in the cluster and still the
// Application's.
func (r *Reader) staleDiffs(ctx context.Context, app *flotillav1.Application, stale inventory.Set) ([]wire.ResourceDiff, error) {
	if stale.Len() == 0 {
		return nil, nil
	}
	c, err := r.target(ctx, app)
	if err != nil {
		return nil, err
	}
	differ, err := diff.New(diff.Options{IgnoreDifferences: app.Spec.IgnoreDifferences})
	if err != nil {
		return nil, fmt.Errorf("%w: spec.%w", ErrBadRequest, err)
	}
	var out []wire.ResourceDiff
	for _, key := range stale.Keys() {
		ref := wire.ObjectRef{Group: key.Group, Version: key.Version, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
		live, err := c.get(ctx, ref)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("%w: cluster %s: read %s: %w", ErrUnavailable, c.Name, refString(ref), err)
		case !ownedByApp(live, app):
			continue
		}
		res, err := differ.Object(nil, live)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, refString(ref), err)
		}
		out = append(out, resourceDiff(key, res))
	}
	return out, nil
}

func resourceDiff(key inventory.ObjMetadata, res diff.Result) wire.ResourceDiff {
	return wire.ResourceDiff{
		ObjectRef: wire.ObjectRef{Group: key.Group, Version: key.Version, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name},
		Action:    wire.DiffAction(res.Action),
		Live:      res.Live,
		Desired:   res.Desired,
		Diff:      res.Diff,
	}
}
