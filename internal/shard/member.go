package shard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// LeasePrefix starts the name of every member's Lease: the Lease of
	// member ID is LeasePrefix+ID.
	LeasePrefix = "flotilla-shard-"
	// ClaimsAnnotation on a member's Lease lists, comma-separated and
	// sorted, the keys the member holds or is about to hold. Another member
	// takes none of them while the Lease lives.
	ClaimsAnnotation = "flotilla.dev/shard-claims"
	// SessionAnnotation on a member's Lease is a random value per process,
	// so that a process recognizes its own Lease after a lost response.
	SessionAnnotation = "flotilla.dev/shard-session"
	// DefaultLeaseDuration is how long a Lease lives without renewal.
	DefaultLeaseDuration = 15 * time.Second
)

// Options configure a Member.
type Options struct {
	// Client creates, renews and deletes Leases.
	Client client.Client
	// Reader lists Leases. It must read from the API server, not from a
	// cache: a claim must be seen as soon as it is written.
	Reader client.Reader
	// Namespace holds the Leases.
	Namespace string
	// ID names this member; its Lease is LeasePrefix+ID.
	ID string
	// LeaseDuration is how long the Lease lives without renewal; the
	// member renews it every fifth of that. Zero means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// Keys lists what is shared out. An error keeps the last list.
	Keys func(ctx context.Context) ([]string, error)
	// OnAcquire, if set, is called for each key this member starts to hold.
	OnAcquire func(key string)
	Logger    *slog.Logger
}

// DefaultOptions has a 15 second Lease.
func DefaultOptions() Options {
	return Options{LeaseDuration: DefaultLeaseDuration, Logger: slog.Default()}
}

// Member is one replica's share of the keys. It is a controller-runtime
// Runnable: Start renews the Lease and moves keys until its context ends;
// Release then deletes the Lease. A nil *Member holds every key, so that
// code written for sharding runs unchanged without it.
type Member struct {
	opts    Options
	session string
	renew   time.Duration
	// fence is how long the member keeps its keys without a successful
	// renewal. It ends, even counting a hung request, well before the
	// others may see the Lease as expired.
	fence time.Duration

	mu sync.Mutex
	// lastRenew is when the last successful renewal was sent.
	lastRenew time.Time
	held      map[string]bool
	draining  map[string]bool
	inflight  map[string]map[uint64]context.CancelFunc
	next      uint64

	// Used only by the goroutine running Start, then by Release.
	lease *coordinationv1.Lease
	keys  []string
	seen  map[string]observation
	// mine is a Lease of this ID that this process did not write (a
	// previous process with the same ID), from the last listing.
	mine        *coordinationv1.Lease
	mineExpired bool
}

// observation is when a Lease's resourceVersion was first seen. Expiry is
// judged by the observer's own clock since then, never by comparing
// clocks of two machines.
type observation struct {
	version string
	at      time.Time
}

// New makes a Member; it does nothing until Start.
func New(opts Options) (*Member, error) {
	if opts.Client == nil || opts.Reader == nil || opts.Keys == nil {
		return nil, errors.New("shard: Client, Reader and Keys are required")
	}
	if opts.ID == "" || opts.Namespace == "" {
		return nil, errors.New("shard: ID and Namespace are required")
	}
	if opts.LeaseDuration == 0 {
		opts.LeaseDuration = DefaultLeaseDuration
	}
	if opts.LeaseDuration < time.Second {
		return nil, fmt.Errorf("shard: a Lease duration of %s is under the minimum of 1s", opts.LeaseDuration)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("shard: session: %w", err)
	}
	return &Member{
		opts:     opts,
		session:  hex.EncodeToString(b),
		renew:    opts.LeaseDuration / 5,
		fence:    opts.LeaseDuration / 3,
		held:     map[string]bool{},
		draining: map[string]bool{},
		inflight: map[string]map[uint64]context.CancelFunc{},
		seen:     map[string]observation{},
	}, nil
}

// ID is the member's name.
func (m *Member) ID() string { return m.opts.ID }

// Period is how long a key that is not held should wait before looking
// again: one Lease duration, about the longest a handover takes. It is
// zero for a nil Member.
func (m *Member) Period() time.Duration {
	if m == nil {
		return 0
	}
	return m.opts.LeaseDuration
}

// NeedLeaderElection is false: every replica is a member.
func (m *Member) NeedLeaderElection() bool { return false }

// Hold reports whether this member holds key. If it does, the returned
// context is cancelled when the member lets the key go, and done must be
// called when the work ends: the key is not handed to another member
// before that. A nil Member holds every key.
func (m *Member) Hold(ctx context.Context, key string) (context.Context, func(), bool) {
	if m == nil {
		return ctx, func() {}, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// A renewal overdue past the fence refuses new work at once; the next
	// round lets the keys go and cancels the work in flight.
	if !m.held[key] || time.Since(m.lastRenew) >= m.fence {
		return ctx, func() {}, false
	}
	ctx, cancel := context.WithCancel(ctx)
	m.next++
	id := m.next
	if m.inflight[key] == nil {
		m.inflight[key] = map[uint64]context.CancelFunc{}
	}
	m.inflight[key][id] = cancel
	return ctx, func() {
		m.mu.Lock()
		delete(m.inflight[key], id)
		if len(m.inflight[key]) == 0 {
			delete(m.inflight, key)
		}
		m.mu.Unlock()
		cancel()
	}, true
}

// Start renews the Lease and moves keys every fifth of the Lease duration
// until ctx ends.
func (m *Member) Start(ctx context.Context) error {
	m.opts.Logger.Info("shard member starting", "lease", LeasePrefix+m.opts.ID, "leaseDuration", m.opts.LeaseDuration)
	t := time.NewTicker(m.renew)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Release lets every key go, waits up to ctx for work in flight to end,
// and deletes the Lease, so that the others take over at once instead of
// after it expires. Call it after Start has returned.
func (m *Member) Release(ctx context.Context) error {
	m.mu.Lock()
	m.dropAll()
	m.mu.Unlock()
	for !m.drained() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard: release Lease %s: work still in flight: %w", LeasePrefix+m.opts.ID, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if m.lease == nil {
		return nil
	}
	err := m.deleteLease(ctx, m.lease)
	if apierrors.IsConflict(err) {
		// A renewal's answer was lost (it timed out, yet the server wrote
		// it): the Lease moved on since. Still this process's own, it is
		// deleted at the version it has now.
		err = m.deleteOwnLease(ctx)
	}
	switch {
	case err == nil:
		m.opts.Logger.Info("shard lease released", "lease", LeasePrefix+m.opts.ID)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return fmt.Errorf("shard: release Lease %s: changed by another writer, left to expire", LeasePrefix+m.opts.ID)
	}
	return fmt.Errorf("shard: release Lease %s: %w", LeasePrefix+m.opts.ID, err)
}

// deleteLease deletes l if it is still at the version read.
func (m *Member) deleteLease(ctx context.Context, l *coordinationv1.Lease) error {
	rv := l.ResourceVersion
	return m.opts.Client.Delete(ctx, l, client.Preconditions{ResourceVersion: &rv})
}

// deleteOwnLease reads the Lease again and deletes it if this process's
// session wrote it last; a Conflict error otherwise.
func (m *Member) deleteOwnLease(ctx context.Context) error {
	var now coordinationv1.Lease
	if err := m.opts.Reader.Get(ctx, client.ObjectKeyFromObject(m.lease), &now); err != nil {
		return err
	}
	if now.Annotations[SessionAnnotation] != m.session {
		return apierrors.NewConflict(coordinationv1.Resource("leases"), now.Name, errors.New("written by another session"))
	}
	return m.deleteLease(ctx, &now)
}

// tick is one round: list the Leases → assign → give up what moved away →
// renew the Lease with the claims → list again → hold the new claims that
// no one else made.
func (m *Member) tick(ctx context.Context) {
	m.listKeys(ctx)
	ctx, cancel := context.WithTimeout(ctx, m.renew)
	defer cancel()
	others, err := m.observe(ctx)
	if err != nil {
		m.stale("list Leases", err)
		return
	}
	members := []string{m.opts.ID}
	for id := range others {
		members = append(members, id)
	}
	owners := Assign(m.keys, members)
	candidates, claims := m.plan(owners, claimedBy(others))
	if err := m.renewLease(ctx, claims); err != nil {
		m.stale("renew Lease", err)
		return
	}
	if len(candidates) == 0 {
		return
	}
	// Both sides of a race write their claim before they list: the later
	// writer always sees the earlier claim and backs off.
	others, err = m.observe(ctx)
	if err != nil {
		return
	}
	acquired := m.confirm(candidates, claimedBy(others))
	if len(acquired) > 0 {
		m.opts.Logger.Info("shard keys acquired", "keys", acquired, "members", len(members))
	}
	if m.opts.OnAcquire != nil {
		for _, k := range acquired {
			m.opts.OnAcquire(k)
		}
	}
}

// listKeys refreshes the keys, with a time limit of its own: a slow first
// listing (caches warming up) must not eat the time the Lease has.
func (m *Member) listKeys(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, m.renew)
	defer cancel()
	keys, err := m.opts.Keys(ctx)
	if err != nil {
		if ctx.Err() == nil || m.keys != nil {
			m.opts.Logger.Info("shard keys not listed, keeping the last list", "error", err)
		}
		return
	}
	m.keys = keys
}

// plan gives up the held keys that belong to another member now and
// returns the keys to claim, and every key to list in the Lease.
func (m *Member) plan(owners map[string]string, claimed map[string]bool) (candidates, claims []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var lost []string
	for k := range m.held {
		if owners[k] != m.opts.ID {
			lost = append(lost, k)
			m.drop(k)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		m.opts.Logger.Info("shard keys moving away", "keys", lost)
	}
	for k := range m.draining {
		if len(m.inflight[k]) == 0 {
			delete(m.draining, k)
		}
	}
	for k, owner := range owners {
		if owner == m.opts.ID && !m.held[k] && !m.draining[k] && !claimed[k] {
			candidates = append(candidates, k)
		}
	}
	claims = slices.Clone(candidates)
	for k := range m.held {
		claims = append(claims, k)
	}
	for k := range m.draining {
		claims = append(claims, k)
	}
	slices.Sort(claims)
	return candidates, claims
}

// confirm holds the candidates no other live Lease claims.
func (m *Member) confirm(candidates []string, claimed map[string]bool) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var acquired []string
	for _, k := range candidates {
		if !claimed[k] && !m.draining[k] {
			m.held[k] = true
			acquired = append(acquired, k)
		}
	}
	slices.Sort(acquired)
	return acquired
}

// drop lets key go: new work is refused and work in flight is cancelled.
// The key stays claimed until that work has ended. Call with mu held.
func (m *Member) drop(key string) {
	delete(m.held, key)
	m.draining[key] = true
	for _, cancel := range m.inflight[key] {
		cancel()
	}
}

func (m *Member) dropAll() {
	for k := range m.held {
		m.drop(k)
	}
}

func (m *Member) drained() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inflight) == 0
}

// stale handles a failed round: once the Lease has gone unrenewed for the
// fence time, every key is let go, well before the others may take them.
func (m *Member) stale(what string, err error) {
	if !errors.Is(err, context.Canceled) {
		m.opts.Logger.Info("shard round failed", "step", what, "error", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.lastRenew) < m.fence {
		return
	}
	if len(m.held) > 0 {
		m.opts.Logger.Info("shard keys let go: the Lease could not be renewed", "keys", len(m.held))
	}
	m.dropAll()
}

// observe lists the Leases and returns the claims of the other live
// members. It deletes the Leases of members that are gone.
func (m *Member) observe(ctx context.Context) (map[string][]string, error) {
	var list coordinationv1.LeaseList
	if err := m.opts.Reader.List(ctx, &list, client.InNamespace(m.opts.Namespace)); err != nil {
		return nil, err
	}
	now := time.Now()
	others := map[string][]string{}
	names := map[string]bool{}
	m.mine = nil
	for i := range list.Items {
		l := &list.Items[i]
		id, ok := strings.CutPrefix(l.Name, LeasePrefix)
		if !ok || id == "" {
			continue
		}
		names[l.Name] = true
		o, ok := m.seen[l.Name]
		if !ok || o.version != l.ResourceVersion {
			o = observation{version: l.ResourceVersion, at: now}
			m.seen[l.Name] = o
		}
		expired := now.Sub(o.at) >= leaseDuration(l, m.opts.LeaseDuration)
		switch {
		case id == m.opts.ID:
			m.mine, m.mineExpired = l.DeepCopy(), expired
		case expired:
			m.collect(ctx, l)
		default:
			others[id] = claimsOf(l)
		}
	}
	for name := range m.seen {
		if !names[name] {
			delete(m.seen, name)
		}
	}
	return others, nil
}

// collect deletes the Lease of a member that stopped renewing it, unless
// it changed since it was read.
func (m *Member) collect(ctx context.Context, l *coordinationv1.Lease) {
	rv := l.ResourceVersion
	if err := m.opts.Client.Delete(ctx, l, client.Preconditions{ResourceVersion: &rv}); err == nil {
		m.opts.Logger.Info("shard lease expired, deleted", "lease", l.Name, "claims", l.Annotations[ClaimsAnnotation])
	}
}

// renewLease writes the Lease with the claims: create it, take over an
// expired one of the same ID, or update the one this process wrote. A
// Lease changed or deleted behind this process's back lets every key go.
func (m *Member) renewLease(ctx context.Context, claims []string) error {
	now := time.Now()
	l := m.lease
	create := false
	if l == nil {
		switch {
		case m.mine == nil:
			create = true
			l = &coordinationv1.Lease{}
			l.Name, l.Namespace = LeasePrefix+m.opts.ID, m.opts.Namespace
		case m.mineExpired || m.mine.Annotations[SessionAnnotation] == m.session:
			l = m.mine.DeepCopy()
		default:
			return fmt.Errorf("the Lease %s is held by another process with the same ID", LeasePrefix+m.opts.ID)
		}
		id, secs := m.opts.ID, int32((m.opts.LeaseDuration+time.Second-1)/time.Second)
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &secs, AcquireTime: &metav1.MicroTime{Time: now}}
	} else {
		l = l.DeepCopy()
	}
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	metav1.SetMetaDataAnnotation(&l.ObjectMeta, ClaimsAnnotation, strings.Join(claims, ","))
	metav1.SetMetaDataAnnotation(&l.ObjectMeta, SessionAnnotation, m.session)
	var err error
	if create {
		err = m.opts.Client.Create(ctx, l)
	} else {
		err = m.opts.Client.Update(ctx, l)
	}
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) {
			// Someone else wrote or deleted this Lease: what it said about
			// this member's claims can no longer be trusted.
			m.lease = nil
			m.mu.Lock()
			m.dropAll()
			m.mu.Unlock()
		}
		return err
	}
	m.lease = l
	m.mu.Lock()
	m.lastRenew = now
	m.mu.Unlock()
	return nil
}

func claimedBy(others map[string][]string) map[string]bool {
	out := map[string]bool{}
	for _, keys := range others {
		for _, k := range keys {
			out[k] = true
		}
	}
	return out
}

func claimsOf(l *coordinationv1.Lease) []string {
	v := l.Annotations[ClaimsAnnotation]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func leaseDuration(l *coordinationv1.Lease, def time.Duration) time.Duration {
	if s := l.Spec.LeaseDurationSeconds; s != nil && *s > 0 {
		return time.Duration(*s) * time.Second
	}
	return def
}
