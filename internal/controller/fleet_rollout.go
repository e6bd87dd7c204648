package controller

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/rollout"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// revisionResolver turns a generated Application's source into a revision
// that always names the same content (a commit, a digest, a chart version
// and digest), so that a Fleet can hold some clusters at the old one while
// others take the new one.
type revisionResolver struct {
	sources *source.Client
	// reader reads Secrets uncached; clusters lists Clusters.
	reader, clusters client.Reader

	mu sync.Mutex
	// refreshes holds, per Fleet, the refresh token (the Fleet's
	// RefreshAnnotation) last answered with a listing of its own.
	refreshes map[types.NamespacedName]string
}

// refreshed says whether f asks for a refresh not yet answered, and takes
// it as answered: its revisions are then listed anew rather than taken from
// a listing shared moments ago, which a webhook's push may postdate. Any
// other look at the Fleet (its rollout poll, its Applications' status)
// shares listings.
func (r *revisionResolver) refreshed(f *flotillav1.Fleet) bool {
	tok := f.Annotations[flotillav1.RefreshAnnotation]
	if tok == "" {
		return false
	}
	key := client.ObjectKeyFromObject(f)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refreshes[key] == tok {
		return false
	}
	if r.refreshes == nil {
		r.refreshes = map[types.NamespacedName]string{}
	}
	r.refreshes[key] = tok
	return true
}

// forget drops what r remembers of a deleted Fleet.
func (r *revisionResolver) forget(key types.NamespacedName) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.refreshes, key)
}

// resolve pins src, whose URL policy allowed, with the credentials it names
// once policy allows those too; fresh lists the repository's refs anew.
func (r *revisionResolver) resolve(ctx context.Context, policy *project.Policy, namespace string, src flotillav1.ApplicationSource, fresh bool) (string, error) {
	acc := engine.SecretAccess{Reader: r.reader, Clusters: r.clusters, Policy: policy, Namespace: namespace}
	creds, err := acc.Credentials(ctx, src.CredentialsRef)
	if err != nil {
		return "", err
	}
	return r.sources.Pin(ctx, source.Request{URL: src.RepoURL, Chart: src.Chart, Revision: src.TargetRevision, Credentials: creds, Fresh: fresh})
}

// rolloutPoll is how often a Fleet looks again while a revision moves
// through its clusters.
const rolloutPoll = 3 * time.Second

// pinRevisions, when spec.rollout sets waves or maxParallel, pins every
// generated Application to a revision that always names the same content,
// and moves clusters to a new one as the rollout allows (waves, or at most
// maxParallel on their way at once). New clusters take the new revision at
// once when there are no waves: they have nothing running to protect.
func (r *FleetReconciler) pinRevisions(ctx context.Context, f *flotillav1.Fleet, policy *project.Policy, clusters []flotillav1.Cluster, desired map[string]*flotillav1.Application, owned []flotillav1.Application, events *[]rollout.Event) (time.Duration, error) {
	ro := f.Spec.Rollout
	if ro == nil || (ro.MaxParallel == "" && len(ro.Waves) == 0) || len(desired) == 0 {
		f.Status.Waves, f.Status.StableRevision, f.Status.FailedRevision = nil, "", ""
		return 0, nil
	}
	existing := map[string]*flotillav1.Application{}
	for i := range owned {
		existing[owned[i].Name] = &owned[i]
	}
	fresh := r.Revisions.refreshed(f)
	resolved := map[string]string{}
	target := map[string]string{}
	for name, want := range desired {
		key := want.Spec.Source.RepoURL + "\x00" + want.Spec.Source.Chart + "@" + want.Spec.Source.TargetRevision
		commit, ok := resolved[key]
		if !ok {
			var err error
			if commit, err = r.Revisions.resolve(ctx, policy, f.Namespace, want.Spec.Source, fresh); err != nil {
				return 0, fmt.Errorf("resolve %s: %w", want.Spec.Source.TargetRevision, err)
			}
			resolved[key] = commit
		}
		target[name] = commit
	}
	if len(ro.Waves) > 0 {
		return r.pinWaves(f, clusters, desired, existing, resolved, events)
	}
	f.Status.Waves, f.Status.StableRevision, f.Status.FailedRevision = nil, "", ""
	limit, err := rollout.Parallelism(ro.MaxParallel, len(desired))
	if err != nil {
		return 0, fmt.Errorf("spec.rollout.%w", err)
	}
	inFlight := 0
	var waiting []string
	for name, want := range desired {
		commit := target[name]
		have := existing[name]
		switch {
		case have == nil:
			want.Spec.Source.TargetRevision = commit
		case have.Spec.Source.TargetRevision == commit:
			want.Spec.Source.TargetRevision = commit
			if !settled(have, commit) {
				inFlight++
			}
		default:
			want.Spec.Source.TargetRevision = have.Spec.Source.TargetRevision
			waiting = append(waiting, name)
		}
	}
	slices.Sort(waiting)
	for _, name := range waiting[:min(max(limit-inFlight, 0), len(waiting))] {
		desired[name].Spec.Source.TargetRevision = target[name]
		inFlight++
	}
	if inFlight > 0 || len(waiting) > 0 {
		return rolloutPoll, nil
	}
	// The Applications are pinned to commits and no longer see the branch
	// move: the Fleet looks for a new commit at the template's interval.
	return syncInterval(f.Spec.Template.SyncPolicy), nil
}

// pinWaves moves the Fleet's revision through its waves (internal/rollout
// decides), and records where each wave is in status.
// Its events are told once the status is written.
func (r *FleetReconciler) pinWaves(f *flotillav1.Fleet, clusters []flotillav1.Cluster, desired map[string]*flotillav1.Application, existing map[string]*flotillav1.Application, resolved map[string]string, events *[]rollout.Event) (time.Duration, error) {
	if len(resolved) != 1 {
		return 0, errors.New("spec.rollout.waves: the template resolves to a different revision on some clusters; waves move one revision through the fleet")
	}
	var target string
	for _, rev := range resolved {
		target = rev
	}
	checks, err := rollout.CompileChecks(f.Spec.Rollout.Waves)
	if err != nil {
		return 0, fmt.Errorf("spec.rollout.%w", err)
	}
	in := rollout.Input{Rollout: *f.Spec.Rollout, Target: target, Status: f.Status, Now: time.Now(), Checks: checks, Apps: map[string]rollout.App{}}
	if tok := f.Annotations[flotillav1.PromoteAnnotation]; tok != "" && tok != f.Status.LastHandledPromote {
		in.Promote = true
		f.Status.LastHandledPromote = tok
	}
	if tok := f.Annotations[flotillav1.RetryRolloutAnnotation]; tok != "" && tok == f.Status.FailedRevision && tok != f.Status.LastHandledRetry {
		in.Retry = true
		f.Status.LastHandledRetry = tok
	}
	for _, c := range clusters {
		in.Clusters = append(in.Clusters, rollout.Cluster{Name: c.Name, Labels: c.Labels})
		if have := existing[f.Name+"-"+c.Name]; have != nil {
			app, err := waveApp(have, target, checks != nil)
			if err != nil {
				return 0, err
			}
			in.Apps[c.Name] = app
		}
	}
	plan, err := rollout.Plan(in)
	if err != nil {
		return 0, fmt.Errorf("spec.rollout.%w", err)
	}
	for _, c := range clusters {
		if want := desired[f.Name+"-"+c.Name]; want != nil {
			want.Spec.Source.TargetRevision = plan.Pins[c.Name]
		}
	}
	f.Status.Waves, f.Status.StableRevision, f.Status.FailedRevision = plan.Waves, plan.StableRevision, plan.FailedRevision
	*events = plan.Events
	switch {
	case plan.Settled || plan.FailedRevision != "":
		return syncInterval(f.Spec.Template.SyncPolicy), nil
	case plan.Wake > 0 && plan.Wake < rolloutPoll:
		return plan.Wake, nil
	}
	return rolloutPoll, nil
}

// waveApp is what a rollout reads of a generated Application: where it is
// pinned, whether it settled, and what failed. withObject adds the
// Application as a map, for the waves' checks.
func waveApp(a *flotillav1.Application, target string, withObject bool) (rollout.App, error) {
	st := a.Status
	app := rollout.App{
		Exists:   true,
		Pinned:   a.Spec.Source.TargetRevision,
		Revision: st.Sync.Revision,
		Synced:   st.Sync.Status == flotillav1.SyncStatusSynced,
		Healthy:  st.Health.Status == flotillav1.HealthHealthy,
		Degraded: st.Health.Status == flotillav1.HealthDegraded,
	}
	if op := st.Operation; op != nil && op.Phase == flotillav1.OperationFailed && op.Revision == target && retriesSpent(a) {
		app.SyncFailed = true
		app.Problem = "sync failed: " + op.Message
	}
	if app.Degraded {
		app.Problem = "Degraded: " + st.Health.Message
		for _, res := range st.Resources {
			if res.Health == flotillav1.HealthDegraded {
				app.Problem = fmt.Sprintf("%s %s is Degraded: %s", res.Kind, path.Join(res.Namespace, res.Name), res.Message)
				app.Faulty = res.Kind + "/" + path.Join(res.Namespace, res.Name)
				break
			}
		}
	}
	if withObject {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
		if err != nil {
			return rollout.App{}, err
		}
		app.Object = obj
	}
	return app, nil
}

// retriesSpent says a failed sync will not be tried again by itself: its
// failure is stalled, or its retries are spent.
func retriesSpent(a *flotillav1.Application) bool {
	if meta.IsStatusConditionTrue(a.Status.Conditions, flotillav1.ConditionStalled) {
		return true
	}
	limit := int32(defaultRolloutRetries)
	if rp := a.Spec.SyncPolicy.Retry; rp != nil && rp.Limit > 0 {
		limit = rp.Limit
	}
	return a.Status.Operation.RetryCount >= limit
}

// defaultRolloutRetries is how many times a wave lets a failed sync of an
// Application without a retry limit try again before the wave fails.
const defaultRolloutRetries = 3

// rolloutEvent records a wave passed, a rollout failed or rolled back as an
// Event on the Fleet, and tells the Notifications.
func (r *FleetReconciler) rolloutEvent(ctx context.Context, f *flotillav1.Fleet, ev rollout.Event) {
	r.Log.Info("rollout", "fleet", f.Namespace+"/"+f.Name, "event", ev.Name, "wave", ev.Wave, "revision", ev.Revision, "message", ev.Message)
	project := f.Spec.Project
	if project == "" {
		project = flotillav1.DefaultProject
	}
	emit(ctx, r.Notify, []notify.Event{{Name: ev.Name, Namespace: f.Namespace, Project: project, Fleet: f.Name,
		Cluster: ev.Cluster, Object: ev.Object, Revision: ev.Revision, RepoURL: f.Spec.Template.Source.RepoURL, Message: ev.Message}})
	if r.Recorder == nil {
		return
	}
	kind := corev1.EventTypeNormal
	if ev.Name != rollout.EventWavePassed {
		kind = corev1.EventTypeWarning
	}
	r.Recorder.Eventf(f, nil, kind, ev.Name, "Rollout", "%s", limitNote(ev.Message))
}

// settled is Synced and Healthy at commit.
func settled(app *flotillav1.Application, commit string) bool {
	return app.Status.Sync.Revision == commit && app.Status.Sync.Status == flotillav1.SyncStatusSynced &&
		app.Status.Health.Status == flotillav1.HealthHealthy
}
