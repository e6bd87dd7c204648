package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/diff"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/hook"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// syncState is the one value the steps of a sync pass along.
type syncState struct {
	req    Request
	app    *flotillav1.Application
	owner  apply.Owner
	apply  bool
	target *managerEntry
	// holdsSlot is true while the sync holds one of its cluster's slots;
	// tookSlot once it took one (giving it back woke the next in line).
	holdsSlot, tookSlot bool
	policy              *project.Policy
	manager             *apply.Manager
	artifact            *source.Artifact
	// dependencies are the Helm dependencies fetched for the render.
	dependencies []*source.Artifact
	objects      []*unstructured.Unstructured
	// plan orders the rendered objects in phases and waves; objects are
	// its ordinary ones, without the hooks.
	plan   hook.Plan
	differ *diff.Differ
	result *Result
	// checks are the Application's health checks, compiled once.
	checks *health.Checks
	// namespaceChecked is set once the plan decided whether the sync
	// creates the destination namespace (createNamespace).
	namespaceChecked, createNamespace bool
	// writes are the sync's writes the watch caches do not show yet: set
	// by observe from the result, or by Observe from the last sync's record.
	writes map[inventory.ObjMetadata]write
}

// newState starts the state of one sync or preview of req.
func newState(req Request) *syncState {
	return &syncState{
		req:    req,
		app:    req.App,
		apply:  req.Write == WriteAlways,
		owner:  apply.Owner{Namespace: req.App.Namespace, Name: req.App.Name, UID: string(req.App.UID)},
		result: &Result{},
	}
}

// release gives back what the sync holds: its artifact and its slot.
func (s *syncState) release() {
	if s.artifact != nil {
		s.artifact.Release()
	}
	for _, a := range s.dependencies {
		a.Release()
	}
	s.freeSlot()
}

// passTurn hands a woken sync's turn on when it ends without having taken
// a slot (its fetch or render failed, or another took the slot first), so
// that nobody waits in line while a slot stays free. A sync that took one
// woke the next in line when it gave it back.
func (s *syncState) passTurn() {
	if !s.tookSlot && s.target != nil {
		s.target.slots.pass()
	}
}

// key names the Application synced.
func (s *syncState) key() types.NamespacedName {
	return types.NamespacedName{Namespace: s.app.Namespace, Name: s.app.Name}
}

// freeSlot gives back the sync's slot, if it holds one.
func (s *syncState) freeSlot() {
	if s.holdsSlot {
		s.target.slots.give()
		s.holdsSlot = false
	}
}

// Sync runs the recipe for one Application. The Result is filled as far as
// the sync got, also when it returns an error.
func (e *Engine) Sync(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	s := newState(req)
	defer func() {
		s.release()
		s.passTurn()
		s.result.Duration = time.Since(start)
	}()
	steps := []struct {
		name string
		run  func(context.Context, *syncState) error
	}{
		{"cluster", e.resolveCluster},
		{"admit", e.admit},
		{"fetch", e.fetch},
		{"render", e.render},
		{"slot", e.takeSlot},
		{"plan", e.plan},
		{"enforce", e.enforce},
		{"compare", e.compare},
		{"apply", e.apply},
		{"prune", e.prune},
		{"observe", e.observe},
	}
	for _, step := range steps {
		began := time.Now()
		err := step.run(ctx, s)
		s.result.Steps = append(s.result.Steps, StepTime{Step: step.name, Duration: time.Since(began)})
		if err != nil {
			e.remember(s, err)
			return s.result, err
		}
	}
	e.remember(s, nil)
	return s.result, nil
}

// resolveCluster finds the destination's clients and fails with
// ErrClusterBusy, before any work, if none of its slots is free: a sync
// that waits for one comes back through the queue, and does not fetch and
// render each time it finds the cluster busy.
func (e *Engine) resolveCluster(ctx context.Context, s *syncState) error {
	if err := e.resolveTarget(ctx, s); err != nil {
		return err
	}
	if s.target.slots.full(s.key()) {
		return ErrClusterBusy
	}
	return nil
}

// takeSlot takes one of the destination's sync slots, or fails with
// ErrClusterBusy. It comes after the fetch and the render, which send
// nothing to the cluster: a slot is held only while the sync talks to it.
func (e *Engine) takeSlot(_ context.Context, s *syncState) error {
	if !s.target.slots.take(s.key()) {
		return ErrClusterBusy
	}
	s.holdsSlot, s.tookSlot = true, true
	return nil
}

func (e *Engine) fetch(ctx context.Context, s *syncState) error {
	rev := s.req.Revision
	if rev == "" {
		rev = s.app.Spec.Source.TargetRevision
	}
	src := s.app.Spec.Source
	a, err := e.sources.Get(ctx, source.Request{
		URL:         src.RepoURL,
		Chart:       src.Chart,
		Revision:    rev,
		Credentials: s.req.Credentials,
		Verify:      s.req.Verify,
		Fresh:       s.req.Fresh,
	})
	if err != nil {
		return sourceError(err)
	}
	s.artifact = a
	s.result.Revision = a.ID()
	if s.req.Write == WriteNewRevision && s.result.Revision != s.req.LastApplied {
		s.apply = true
	}
	return nil
}

// resolveTarget finds the destination's clients, without taking a slot.
func (e *Engine) resolveTarget(ctx context.Context, s *syncState) error {
	m, name, err := e.manager(ctx, s.app.Namespace, s.app.Spec.Destination.Cluster)
	s.result.Cluster = name
	if err != nil {
		return err
	}
	s.target, s.manager = m, m.manager
	return nil
}

// sourceError maps a source failure to its condition reason.
func sourceError(err error) error {
	switch {
	case errors.Is(err, source.ErrInvalidURL), errors.Is(err, source.ErrInvalidRevision):
		return stalled(flotillav1.ReasonInvalidSpec, err)
	case errors.Is(err, source.ErrAddressRefused):
		return failed(flotillav1.ReasonAddressRefused, err)
	case errors.Is(err, source.ErrCredentials):
		return stalled(flotillav1.ReasonAuthFailed, err)
	case errors.Is(err, source.ErrAuth), errors.Is(err, source.ErrHostVerification):
		return failed(flotillav1.ReasonAuthFailed, err)
	case errors.Is(err, source.ErrRevisionNotFound):
		return failed(flotillav1.ReasonRevisionNotFound, err)
	case errors.Is(err, source.ErrProviderMismatch):
		// No revision can pass a check that cannot apply to the source.
		return stalled(flotillav1.ReasonVerificationFailed, err)
	case errors.Is(err, source.ErrUnverified):
		return failed(flotillav1.ReasonVerificationFailed, err)
	default:
		return failed(flotillav1.ReasonFetchFailed, err)
	}
}

func (e *Engine) render(ctx context.Context, s *syncState) error {
	path := s.app.Spec.Source.Path
	if chart := s.app.Spec.Source.Chart; chart != "" {
		// A chart's archive unpacks into a folder named after the chart.
		path = chart
	}
	deps, err := e.fetchDependencies(ctx, s, path)
	if err != nil {
		return err
	}
	ho := helmOptions(s.app, s.target.caps)
	ho.Dependencies = deps
	res, err := e.renderer.Render(ctx, render.Request{
		Root:       s.artifact.Dir,
		Path:       path,
		Revision:   s.artifact.URL + "@" + s.artifact.Commit,
		Kustomize:  kustomizeOptions(s.app.Spec.Source.Kustomize),
		Helm:       ho,
		Decryption: s.req.Decryption,
	})
	if err != nil {
		reason := flotillav1.ReasonRenderFailed
		if errors.Is(err, render.ErrDecryption) {
			reason = flotillav1.ReasonDecryptionFailed
		}
		return stalled(reason, fmt.Errorf("revision %s: %w", ShortSHA(s.result.Revision), err))
	}
	s.result.Warnings = res.Warnings
	differ, err := diff.New(diff.Options{IgnoreDifferences: s.app.Spec.IgnoreDifferences})
	if err != nil {
		return stalled(flotillav1.ReasonInvalidSpec, fmt.Errorf("spec.%w", err))
	}
	// Fields the Application ignores are left out of what it applies, so
	// that their other owners (an HPA, a webhook) keep them: no apply loop.
	s.differ = differ
	stripped := make([]*unstructured.Unstructured, len(res.Objects))
	for i, obj := range res.Objects {
		stripped[i] = differ.Strip(obj)
	}
	plan, err := hook.Split(stripped)
	if err != nil {
		return stalled(flotillav1.ReasonRenderFailed, fmt.Errorf("revision %s: %w", ShortSHA(s.result.Revision), err))
	}
	s.plan, s.objects = plan, plan.Objects
	if len(s.objects) == 0 && !s.app.Spec.SyncPolicy.AllowEmpty {
		return stalled(flotillav1.ReasonRenderFailed, fmt.Errorf(
			"revision %s: path %q renders no objects; nothing is applied or pruned (set syncPolicy.allowEmpty to allow an empty application)",
			ShortSHA(s.result.Revision), path))
	}
	return nil
}

// plan names the objects as the cluster will know them (which kinds are
// namespaced is the cluster's to say) and finds those that left the source.
func (e *Engine) plan(ctx context.Context, s *syncState) error {
	desired, err := s.manager.Inventory(ctx, s.objects, s.applyOptions())
	if err != nil {
		return s.applyError(err, flotillav1.ReasonDryRunFailed)
	}
	s.result.Planned = true
	s.result.Desired = desired
	// Whether the destination namespace is created is decided: the
	// compare or apply that follows does not read the Namespace again.
	s.namespaceChecked = true
	s.createNamespace = desired.Has(inventory.ObjMetadata{Version: "v1", Kind: "Namespace", Name: s.app.Spec.Destination.Namespace})
	s.result.Stale = s.req.Previous.Difference(desired)
	s.result.Inventory = s.req.Previous
	return nil
}

func (e *Engine) compare(ctx context.Context, s *syncState) error {
	if s.apply {
		return nil
	}
	cs, err := s.manager.Compare(ctx, s.objects, s.applyOptions())
	if err != nil {
		return s.applyError(err, flotillav1.ReasonDryRunFailed)
	}
	s.result.Changes = cs
	s.result.Inventory = s.req.Previous
	s.result.InSync = !cs.HasChanges() && s.result.Stale.Len() == 0
	return nil
}

func (e *Engine) apply(ctx context.Context, s *syncState) error {
	switch {
	case !s.apply:
		return nil
	case s.plan.Phased():
		return e.applyPhased(ctx, s)
	}
	return e.applyAll(ctx, s)
}

// applyAll applies every object at once (in the apply manager's stages).
func (e *Engine) applyAll(ctx context.Context, s *syncState) error {
	// Whatever happens, the Application may own more than before: keep every
	// object it may create in the inventory, so that none is ever orphaned.
	owned := s.req.Previous.Union(s.result.Desired)
	if s.req.BeforeWrite != nil && owned.Len() > s.req.Previous.Len() {
		if err := s.req.BeforeWrite(ctx, owned); err != nil {
			return failed(flotillav1.ReasonApplyFailed, fmt.Errorf("record inventory: %w", err))
		}
	}
	cs, err := s.manager.Apply(ctx, s.objects, s.applyOptions())
	s.result.Changes = cs
	s.result.Inventory = owned
	if err != nil {
		return s.applyError(err, flotillav1.ReasonApplyFailed)
	}
	if cs.Has(apply.ActionConflict) {
		return failed(flotillav1.ReasonOwnershipConflict, fmt.Errorf("%s", cs.Conflicts()))
	}
	s.result.Applied = true
	return nil
}

func (e *Engine) prune(ctx context.Context, s *syncState) error {
	if !s.apply {
		return nil
	}
	stale := s.result.Stale
	if !s.req.Prune || stale.Len() == 0 {
		s.result.InSync = stale.Len() == 0
		return nil
	}
	if err := s.checkPruneLimit(); err != nil {
		return err
	}
	cs, err := s.manager.Prune(ctx, stale.Keys(), s.owner, apply.PruneOptions{})
	s.result.Changes.Merge(cs)
	s.result.Inventory = s.result.Desired.Union(inventory.NewSet(cs.Remaining()...))
	if err != nil {
		return s.applyError(err, flotillav1.ReasonPruneFailed)
	}
	s.result.InSync = true
	return nil
}

func (s *syncState) applyOptions() apply.ApplyOptions {
	return apply.ApplyOptions{
		Owner:            s.owner,
		DefaultNamespace: s.app.Spec.Destination.Namespace,
		CreateNamespace:  s.app.Spec.SyncPolicy.CreateNamespace && (!s.namespaceChecked || s.createNamespace),
		NamespaceChecked: s.namespaceChecked,
		AdoptEarlier:     true,
	}
}

// checkPruneLimit holds a prune larger than syncPolicy.pruneLimit, unless
// the request confirms it: the stale objects stay, listed OutOfSync.
func (s *syncState) checkPruneLimit() error {
	limit := s.app.Spec.SyncPolicy.PruneLimit
	if limit == nil || s.req.PruneConfirmed {
		return nil
	}
	n, total := s.result.Stale.Len(), s.req.Previous.Len()
	allowed, err := intstr.GetScaledValueFromIntOrPercent(limit, total, false)
	if err != nil {
		return stalled(flotillav1.ReasonInvalidSpec, fmt.Errorf("spec.syncPolicy.pruneLimit: %w", err))
	}
	if n <= allowed {
		return nil
	}
	return stalled(flotillav1.ReasonPruneRefused, fmt.Errorf(
		"revision %s would prune %d of the %d objects the Application owns, over syncPolicy.pruneLimit %s; nothing is pruned until annotation %s is set to a new value, which confirms this prune once",
		ShortSHA(s.result.Revision), n, total, limit.String(), flotillav1.ConfirmPruneAnnotation))
}

// applyError keeps the reason an apply error carries, or uses fallback; a
// cluster that cannot be reached is ClusterUnavailable.
func (s *syncState) applyError(err error, fallback string) error {
	return clusterError(s.result.Cluster, err, fallback)
}

func kustomizeOptions(k *flotillav1.KustomizeSource) render.KustomizeOptions {
	if k == nil {
		return render.KustomizeOptions{}
	}
	o := render.KustomizeOptions{NamePrefix: k.NamePrefix}
	for _, img := range k.Images {
		o.Images = append(o.Images, render.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	for _, p := range k.Patches {
		patch := render.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			patch.Target = &render.Selector{
				Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name, Namespace: t.Namespace,
				LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector,
			}
		}
		o.Patches = append(o.Patches, patch)
	}
	return o
}

// helmKubeVersion is what a chart sees as .Capabilities.KubeVersion when the
// destination cluster's own version cannot be read: the Kubernetes version
// Flotilla is built and tested against.
const helmKubeVersion = "v1.37.2"

// helmOptions maps spec.source.helm: the release is named after the
// Application unless releaseName says otherwise, and lives in the
// destination namespace; the chart sees the destination cluster's version
// and served APIs, as `helm install` would.
func helmOptions(app *flotillav1.Application, caps *capabilities) render.HelmOptions {
	o := render.HelmOptions{
		ReleaseName: app.Name,
		Namespace:   app.Spec.Destination.Namespace,
		KubeVersion: helmKubeVersion,
	}
	if v, apis := caps.get(); v != "" {
		o.KubeVersion, o.APIVersions = v, apis
	}
	if h := app.Spec.Source.Helm; h != nil {
		if h.ReleaseName != "" {
			o.ReleaseName = h.ReleaseName
		}
		o.ValueFiles = h.ValueFiles
		if h.Values != nil {
			o.Values = h.Values.Raw
		}
	}
	return o
}

// ShortSHA is a revision as messages show it: the first 12 characters of a
// commit SHA; a digest ("v1.2.0@sha256:…") keeps its tag and 12 characters
// of the hash.
func ShortSHA(rev string) string {
	if i := strings.Index(rev, "sha256:"); i >= 0 {
		end := min(len(rev), i+len("sha256:")+12)
		return rev[:end]
	}
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// unreachable reports whether err says the cluster could not be reached at
// all (refused, reset, timed out, no route), as opposed to an answer from
// it: such a cluster is Unknown, never empty.
func unreachable(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		errors.As(err, &netErr) || errors.As(err, &urlErr) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err)
}
