package rollout

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// DefaultProgressDeadline is how long a wave may take to pass its gate when
// spec.rollout.progressDeadline is not set.
const DefaultProgressDeadline = 10 * time.Minute

// The events a plan reports, by the names Notifications use.
const (
	EventWavePassed = "RolloutWavePassed"
	EventFailed     = "RolloutFailed"
	EventRolledBack = "RolloutRolledBack"
)

// Cluster is one cluster the Fleet picked.
type Cluster struct {
	Name   string
	Labels map[string]string
}

// App is what the Fleet reads of the Application it generated for one
// cluster.
type App struct {
	// Exists is false for a cluster that has no Application yet.
	Exists bool
	// Pinned is the revision the Application is pinned to (its spec).
	Pinned string
	// Revision is the revision its status reports.
	Revision string
	Synced   bool
	Healthy  bool
	Degraded bool
	// SyncFailed is a sync that failed and will not be retried.
	SyncFailed bool
	// Problem names what is wrong when Degraded or SyncFailed: the object
	// and its message.
	Problem string
	// Faulty is the object at fault, as Kind/namespace/name, when one is.
	Faulty string
	// Object is the Application as a map, for the waves' checks.
	Object map[string]any
}

// settled is Synced and Healthy at rev.
func (a App) settled(rev string) bool {
	return a.Exists && a.Revision == rev && a.Synced && a.Healthy
}

// Input is what a plan is made from.
type Input struct {
	Rollout  flotillav1.Rollout
	Clusters []Cluster
	// Apps are the generated Applications by cluster name.
	Apps map[string]App
	// Target is the newest revision of the template's source.
	Target string
	// Status is the Fleet's status as the last plan left it.
	Status flotillav1.FleetStatus
	Now    time.Time
	// Promote ends the bake time of the wave that bakes.
	Promote bool
	// Retry clears status.failedRevision: it is rolled out again.
	Retry bool
	// Checks are the waves' compiled checks; nil when no wave has any.
	Checks *Checks
}

// Event is something that happened since the last plan. Cluster and
// Object name what failed, when a cluster's object did.
type Event struct {
	Name, Wave, Revision, Message string
	Cluster, Object               string
}

// Result is a plan: where each cluster is pinned and where each wave is.
type Result struct {
	// Pins are the revisions by cluster name.
	Pins           map[string]string
	Waves          []flotillav1.WaveStatus
	StableRevision string
	FailedRevision string
	Events         []Event
	// Settled says every wave passed at the target: nothing moves until a
	// new revision arrives.
	Settled bool
	// Wake, when set, is when a bake time ends.
	Wake time.Duration
}

// Plan decides where every cluster is pinned and where every wave is.
func Plan(in Input) (Result, error) {
	groups, err := Assign(in.Rollout.Waves, in.Clusters)
	if err != nil {
		return Result{}, err
	}
	p := planner{in: in, prev: map[string]flotillav1.WaveStatus{}, res: Result{
		Pins:           map[string]string{},
		StableRevision: in.Status.StableRevision,
		FailedRevision: in.Status.FailedRevision,
	}}
	for _, w := range in.Status.Waves {
		p.prev[w.Name] = w
	}
	if in.Retry || p.res.FailedRevision != in.Target {
		p.res.FailedRevision = ""
	}
	start := p.res.StableRevision
	if start == "" {
		start = in.Target
	}
	for _, c := range in.Clusters {
		if a := in.Apps[c.Name]; a.Exists && a.Pinned != "" {
			p.res.Pins[c.Name] = a.Pinned
		} else {
			p.res.Pins[c.Name] = start
		}
	}
	if p.res.FailedRevision != "" {
		p.hold(groups)
	} else if err := p.advance(groups); err != nil {
		return Result{}, err
	}
	p.rollBack(groups)
	return p.res, nil
}

type planner struct {
	in   Input
	prev map[string]flotillav1.WaveStatus
	res  Result
	// failure is the first wave failure of this plan, if any.
	failure string
}

// advance moves the target through the waves in order.
func (p *planner) advance(groups [][]string) error {
	target := p.in.Target
	open := true
	passed := 0
	for i, spec := range p.in.Rollout.Waves {
		clusters := groups[i]
		ws := flotillav1.WaveStatus{Name: spec.Name, Clusters: clusters}
		if !open {
			ws.Phase, ws.Message = flotillav1.WavePending, fmt.Sprintf("waits for wave %s to pass", p.in.Rollout.Waves[i-1].Name)
			p.add(ws)
			continue
		}
		if err := p.move(spec, clusters); err != nil {
			return err
		}
		p.gate(i, spec, &ws)
		p.add(ws)
		if ws.Phase == flotillav1.WaveSucceeded {
			passed++
		} else {
			open = false
		}
	}
	if passed == len(p.in.Rollout.Waves) && p.failure == "" {
		p.res.StableRevision, p.res.Settled = target, true
	}
	return nil
}

// move pins to the target as many of clusters as maxParallel allows.
func (p *planner) move(spec flotillav1.RolloutWave, clusters []string) error {
	if p.in.Rollout.Paused {
		return nil
	}
	limit := len(clusters)
	maxParallel := spec.MaxParallel
	if maxParallel == "" {
		maxParallel = p.in.Rollout.MaxParallel
	}
	if maxParallel != "" && len(clusters) > 0 {
		n, err := Parallelism(maxParallel, len(clusters))
		if err != nil {
			return fmt.Errorf("wave %s: %w", spec.Name, err)
		}
		limit = n
	}
	target := p.in.Target
	inFlight := 0
	for _, c := range clusters {
		if p.res.Pins[c] == target && !p.in.Apps[c].settled(target) {
			inFlight++
		}
	}
	for _, c := range clusters {
		if inFlight >= limit {
			break
		}
		if p.res.Pins[c] != target {
			p.res.Pins[c] = target
			inFlight++
		}
	}
	return nil
}

// gate says where wave i is: failed, on its way, baking, or passed.
func (p *planner) gate(i int, spec flotillav1.RolloutWave, ws *flotillav1.WaveStatus) {
	ws.Revision = p.agreed(ws.Clusters)
	prev := p.prev[spec.Name]
	since := func(phase flotillav1.WavePhase) *metav1.Time {
		if prev.Phase == phase && prev.Revision == ws.Revision && prev.Since != nil {
			return prev.Since
		}
		t := metav1.NewTime(p.in.Now.Truncate(time.Second))
		return &t
	}
	failure, waiting := p.look(i, ws.Clusters)
	switch {
	case failure != nil:
		p.fail(ws, *failure, since)
	case len(waiting) > 0:
		p.progressing(ws, waiting, since)
	case prev.Phase == flotillav1.WaveSucceeded && prev.Revision == p.in.Target:
		ws.Phase, ws.Since, ws.Message = flotillav1.WaveSucceeded, prev.Since, prev.Message
	default:
		p.bake(spec, ws, since)
	}
}

// failure is why a wave failed, and where.
type failure struct {
	why, cluster, object string
}

// look reads wave i's clusters: what failed at the target, if anything,
// else which clusters it still waits for and why.
func (p *planner) look(i int, clusters []string) (fault *failure, waiting []string) {
	target := p.in.Target
	for _, c := range clusters {
		a := p.in.Apps[c]
		pinned := p.res.Pins[c] == target
		switch {
		case pinned && a.Revision == target && (a.Degraded || a.SyncFailed):
			return &failure{why: fmt.Sprintf("cluster %s: %s", c, a.Problem), cluster: c, object: a.Faulty}, nil
		case !pinned:
			waiting = append(waiting, c+" waits its turn")
		case !a.settled(target):
			waiting = append(waiting, c+" "+state(a, target))
		default:
			if ok, why := p.in.Checks.Pass(i, a.Object); !ok {
				waiting = append(waiting, c+" "+why)
			}
		}
	}
	return nil, waiting
}

// progressing is a wave whose clusters are on their way: it fails past the
// progress deadline, unless paused.
func (p *planner) progressing(ws *flotillav1.WaveStatus, waiting []string, since func(flotillav1.WavePhase) *metav1.Time) {
	ws.Phase, ws.Since = flotillav1.WaveProgressing, since(flotillav1.WaveProgressing)
	if p.in.Rollout.Paused {
		ws.Message = truncate("paused; " + strings.Join(waiting, "; "))
		return
	}
	deadline := DefaultProgressDeadline
	if d := p.in.Rollout.ProgressDeadline; d != nil && d.Duration > 0 {
		deadline = d.Duration
	}
	if p.in.Now.Sub(ws.Since.Time) > deadline {
		p.fail(ws, failure{why: fmt.Sprintf("not Synced and Healthy at %s within %s: %s", short(p.in.Target), deadline, strings.Join(waiting, "; "))}, since)
		return
	}
	ws.Message = truncate("waits: " + strings.Join(waiting, "; "))
}

// bake is a wave whose gate holds: it passes once it held for its bake
// time, or a promote ends that.
func (p *planner) bake(spec flotillav1.RolloutWave, ws *flotillav1.WaveStatus, since func(flotillav1.WavePhase) *metav1.Time) {
	target := p.in.Target
	bake := time.Duration(0)
	if spec.BakeTime != nil {
		bake = spec.BakeTime.Duration
	}
	ws.Phase, ws.Since = flotillav1.WaveBaking, since(flotillav1.WaveBaking)
	left := bake - p.in.Now.Sub(ws.Since.Time)
	if left > 0 && !p.in.Promote {
		ws.Message = fmt.Sprintf("healthy at %s; bakes %s more", short(target), left.Round(time.Second))
		if p.res.Wake == 0 || left < p.res.Wake {
			p.res.Wake = left
		}
		return
	}
	ws.Phase, ws.Since = flotillav1.WaveSucceeded, since(flotillav1.WaveSucceeded)
	ws.Message = fmt.Sprintf("passed at %s", short(target))
	if left > 0 {
		ws.Message += " (promoted)"
	}
	p.res.Events = append(p.res.Events, Event{Name: EventWavePassed, Wave: spec.Name, Revision: target, Message: ws.Message})
}

// fail marks ws failed and the target the failed revision.
func (p *planner) fail(ws *flotillav1.WaveStatus, f failure, since func(flotillav1.WavePhase) *metav1.Time) {
	ws.Phase, ws.Since, ws.Message = flotillav1.WaveFailed, since(flotillav1.WaveFailed), truncate(fmt.Sprintf("revision %s failed: %s", short(p.in.Target), f.why))
	if p.failure == "" {
		p.failure = ws.Message
		p.res.FailedRevision = p.in.Target
		p.res.Events = append(p.res.Events, Event{Name: EventFailed, Wave: ws.Name, Revision: p.in.Target, Message: ws.Message,
			Cluster: f.cluster, Object: f.object})
	}
}

// hold keeps every cluster where it is while the target is the revision
// that failed; the waves keep saying why.
func (p *planner) hold(groups [][]string) {
	for i, spec := range p.in.Rollout.Waves {
		ws := flotillav1.WaveStatus{Name: spec.Name, Clusters: groups[i], Revision: p.agreed(groups[i])}
		prev := p.prev[spec.Name]
		if prev.Phase == flotillav1.WaveFailed || prev.Phase == flotillav1.WaveRolledBack {
			ws.Phase, ws.Since, ws.Message = prev.Phase, prev.Since, prev.Message
		} else {
			ws.Phase, ws.Since = flotillav1.WavePending, prev.Since
			ws.Message = fmt.Sprintf("revision %s failed; waits for a newer revision", short(p.res.FailedRevision))
		}
		p.add(ws)
	}
}

// rollBack, when a wave failed and autoRollback is on, pins every cluster
// not on the stable revision back to it.
func (p *planner) rollBack(groups [][]string) {
	stable := p.res.StableRevision
	if p.res.FailedRevision == "" || stable == "" || stable == p.res.FailedRevision || !autoRollback(p.in.Rollout) {
		return
	}
	var moved []string
	for i := range p.res.Waves {
		ws := &p.res.Waves[i]
		back := false
		for _, c := range groups[i] {
			if p.res.Pins[c] != stable {
				p.res.Pins[c] = stable
				moved = append(moved, c)
				back = true
			}
		}
		if back && ws.Phase != flotillav1.WaveFailed {
			ws.Phase, ws.Message = flotillav1.WaveRolledBack, fmt.Sprintf("rolled back to %s", short(stable))
		} else if back {
			ws.Message = truncate(ws.Message + fmt.Sprintf("; rolled back to %s", short(stable)))
		}
	}
	if len(moved) > 0 {
		slices.Sort(moved)
		p.res.Events = append(p.res.Events, Event{Name: EventRolledBack, Revision: stable,
			Message: truncate(fmt.Sprintf("clusters %s go back to %s: %s", strings.Join(moved, ", "), short(stable), p.failure))})
	}
}

func (p *planner) add(ws flotillav1.WaveStatus) { p.res.Waves = append(p.res.Waves, ws) }

// agreed is the revision every cluster of the wave is pinned to, or "".
func (p *planner) agreed(clusters []string) string {
	rev := ""
	for i, c := range clusters {
		if i == 0 {
			rev = p.res.Pins[c]
		} else if p.res.Pins[c] != rev {
			return ""
		}
	}
	return rev
}

func autoRollback(r flotillav1.Rollout) bool {
	return r.AutoRollback == nil || *r.AutoRollback
}

// state says why a cluster pinned to rev has not settled.
func state(a App, rev string) string {
	switch {
	case !a.Exists:
		return "has no Application yet"
	case a.Revision != rev:
		return "is not at " + short(rev) + " yet"
	case !a.Synced:
		return "is not Synced"
	default:
		return "is not Healthy"
	}
}

// Assign says which clusters each wave picks, each in name order. A wave
// picks among the clusters no earlier wave picked; the clusters no wave
// picks join the last.
func Assign(waves []flotillav1.RolloutWave, clusters []Cluster) ([][]string, error) {
	left := slices.Clone(clusters)
	slices.SortFunc(left, func(a, b Cluster) int { return strings.Compare(a.Name, b.Name) })
	groups := make([][]string, len(waves))
	for i, w := range waves {
		pick, err := picker(w, len(left))
		if err != nil {
			return nil, fmt.Errorf("wave %s: %w", w.Name, err)
		}
		var rest []Cluster
		for j, c := range left {
			if pick(j, c) {
				groups[i] = append(groups[i], c.Name)
			} else {
				rest = append(rest, c)
			}
		}
		left = rest
	}
	if n := len(waves); n > 0 {
		for _, c := range left {
			groups[n-1] = append(groups[n-1], c.Name)
		}
		slices.Sort(groups[n-1])
	}
	return groups, nil
}

// picker says whether w picks the j-th of n clusters left.
func picker(w flotillav1.RolloutWave, n int) (func(int, Cluster) bool, error) {
	switch {
	case len(w.Clusters) > 0:
		return func(_ int, c Cluster) bool { return slices.Contains(w.Clusters, c.Name) }, nil
	case w.ClusterSelector != nil:
		sel, err := metav1.LabelSelectorAsSelector(w.ClusterSelector)
		if err != nil {
			return nil, fmt.Errorf("clusterSelector: %w", err)
		}
		return func(_ int, c Cluster) bool { return sel.Matches(labels.Set(c.Labels)) }, nil
	case w.Percent != nil:
		pct := int(*w.Percent)
		if pct < 1 || pct > 100 {
			return nil, fmt.Errorf("percent %d: want 1 to 100", pct)
		}
		k := (n*pct + 99) / 100
		return func(j int, _ Cluster) bool { return j < k }, nil
	}
	return func(int, Cluster) bool { return true }, nil
}

// Parallelism reads a maxParallel: a count, or a percentage of n rounded
// up, at least 1.
func Parallelism(spec string, n int) (int, error) {
	if p, ok := strings.CutSuffix(spec, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil || pct < 1 || pct > 100 {
			return 0, fmt.Errorf("maxParallel %q: want a count or a percentage from 1%% to 100%%", spec)
		}
		return max(1, (n*pct+99)/100), nil
	}
	v, err := strconv.Atoi(spec)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("maxParallel %q: want a count of at least 1 or a percentage", spec)
	}
	return v, nil
}

// short is a revision as status messages show it.
func short(rev string) string {
	if len(rev) > 12 && !strings.ContainsAny(rev, ":@") {
		return rev[:12]
	}
	return rev
}

const maxMessage = 1024

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}
