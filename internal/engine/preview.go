package engine

import (
	"context"
	"errors"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/diff"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// Preview is what a sync of an Application would change, object by object,
// found without writing anything.
type Preview struct {
	Cluster  string
	Revision string
	// Objects are the rendered objects, in the order a sync handles them:
	// each with what a sync would do and the normalized diff of the
	// dry-run result against the live object (Secret values masked, the
	// Application's ignoreDifferences left out).
	Objects []PreviewObject
	// Stale are objects of the previous inventory that left the source: a
	// sync with prune would delete them.
	Stale inventory.Set
}

// PreviewObject is one rendered object of a Preview.
type PreviewObject struct {
	Change apply.Change
	Diff   diff.Result
}

// Preview runs the first half of a sync of req (the Project's rules, fetch,
// render, plan against the destination cluster, dry-run) and returns what
// the sync would change. It writes nothing to any cluster, takes none of a
// cluster's sync slots and starts no watch; req.Write is ignored. Errors are those of Sync (*Error, with the reason a sync
// would report).
func (e *Engine) Preview(ctx context.Context, req Request) (*Preview, error) {
	req.Write, req.BeforeWrite = WriteNothing, nil
	s := newState(req)
	defer s.release()
	steps := []func(context.Context, *syncState) error{
		e.resolveTarget,
		e.admit,
		e.fetch,
		e.render,
		e.plan,
		e.enforce,
	}
	for _, step := range steps {
		if err := step(ctx, s); err != nil {
			return nil, err
		}
	}
	return e.preview(ctx, s)
}

func (e *Engine) preview(ctx context.Context, s *syncState) (*Preview, error) {
	cs, pairs, err := s.manager.Preview(ctx, s.objects, s.applyOptions())
	if err != nil {
		return nil, s.applyError(err, flotillav1.ReasonDryRunFailed)
	}
	p := &Preview{Cluster: s.result.Cluster, Revision: s.result.Revision, Stale: s.result.Stale}
	var errs []error
	for i, c := range cs.Changes {
		res, err := s.differ.Object(pairs[i].Desired, pairs[i].Live)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Objects = append(p.Objects, PreviewObject{Change: c, Diff: res})
	}
	if len(errs) > 0 {
		return nil, failed(flotillav1.ReasonDryRunFailed, errors.Join(errs...))
	}
	return p, nil
}
