package controller

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/project"
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

// pinRevisions, when spec.rollout.maxParallel is set, pins every generated
// Application to a commit and lets at most maxParallel clusters be on their
// way to a new commit at once: a cluster is on its way until its
// Application is Synced and Healthy at that commit. New clusters take the
// new commit at once: they have nothing running to protect.
func (r *FleetReconciler) pinRevisions(ctx context.Context, f *flotillav1.Fleet, policy *project.Policy, desired map[string]*flotillav1.Application, owned []flotillav1.Application) (time.Duration, error) {
	if f.Spec.Rollout == nil || f.Spec.Rollout.MaxParallel == "" || len(desired) == 0 {
		return 0, nil
	}
	limit, err := parallelism(f.Spec.Rollout.MaxParallel, len(desired))
	if err != nil {
		return 0, err
	}
	existing := map[string]*flotillav1.Application{}
	for i := range owned {
		existing[owned[i].Name] = &owned[i]
	}
	fresh := r.Revisions.refreshed(f)
	resolved := map[string]string{}
	target := map[string]string{}
	inFlight := 0
	var waiting []string
	for name, want := range desired {
		key := want.Spec.Source.RepoURL + "\x00" + want.Spec.Source.Chart + "@" + want.Spec.Source.TargetRevision
		commit, ok := resolved[key]
		if !ok {
			if commit, err = r.Revisions.resolve(ctx, policy, f.Namespace, want.Spec.Source, fresh); err != nil {
				return 0, fmt.Errorf("resolve %s: %w", want.Spec.Source.TargetRevision, err)
			}
			resolved[key] = commit
		}
		target[name] = commit
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

// settled is Synced and Healthy at commit.
func settled(app *flotillav1.Application, commit string) bool {
	return app.Status.Sync.Revision == commit && app.Status.Sync.Status == flotillav1.SyncStatusSynced &&
		app.Status.Health.Status == flotillav1.HealthHealthy
}

// parallelism reads maxParallel: a count, or a percentage of n rounded up,
// at least 1.
func parallelism(spec string, n int) (int, error) {
	if p, ok := strings.CutSuffix(spec, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil || pct < 1 || pct > 100 {
			return 0, fmt.Errorf("spec.rollout.maxParallel %q: want a count or a percentage from 1%% to 100%%", spec)
		}
		return max(1, (n*pct+99)/100), nil
	}
	v, err := strconv.Atoi(spec)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("spec.rollout.maxParallel %q: want a count of at least 1 or a percentage", spec)
	}
	return v, nil
}
