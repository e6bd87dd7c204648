package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// DefaultPollInterval is how often each git repository and revision that an
// Application follows is listed for a new commit.
const DefaultPollInterval = time.Minute

// revisionPoller lists, once per interval, the refs of every git repository
// and revision some Application follows, and queues the Applications of one
// whose commit changed: a push is noticed within the interval without a
// webhook, at the cost of one `git ls-remote` per repository, revision and
// credentials, however many Applications share them (issue 13). The full
// resync interval of each Application stays the safety net.
type revisionPoller struct {
	sources  *source.Client
	interval time.Duration
	enqueue  func(types.NamespacedName)
	log      *slog.Logger

	mu      sync.Mutex
	byApp   map[types.NamespacedName]string
	entries map[string]*followed
}

// followed is one repository, revision and set of credentials, and the
// Applications that follow it.
type followed struct {
	req    source.Request
	commit string
	apps   map[types.NamespacedName]bool
}

func newRevisionPoller(sources *source.Client, interval time.Duration, enqueue func(types.NamespacedName), log *slog.Logger) *revisionPoller {
	return &revisionPoller{
		sources: sources, interval: interval, enqueue: enqueue, log: log,
		byApp: map[types.NamespacedName]string{}, entries: map[string]*followed{},
	}
}

// follow records that app follows its git source at commit; an Application
// of an OCI artifact or a chart, or pinned to a commit, follows nothing.
func (p *revisionPoller) follow(app *flotillav1.Application, creds *source.Credentials, revision, commit string) {
	if p == nil {
		return
	}
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	src := app.Spec.Source
	req := source.Request{URL: src.RepoURL, Chart: src.Chart, Revision: revision, Credentials: creds, Fresh: true}
	if req.Kind() != source.KindGit || commit == "" || isCommit(revision) {
		p.forget(key)
		return
	}
	id := followKey(req)
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.byApp[key]; ok && old != id {
		p.drop(key, old)
	}
	e, ok := p.entries[id]
	if !ok {
		e = &followed{req: req, apps: map[types.NamespacedName]bool{}}
		p.entries[id] = e
	}
	if e.commit == "" {
		e.commit = commit
	}
	e.apps[key] = true
	p.byApp[key] = id
}

// forget stops following for app (deleted, or no longer of a git branch).
func (p *revisionPoller) forget(app types.NamespacedName) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.byApp[app]; ok {
		p.drop(app, id)
	}
}

func (p *revisionPoller) drop(app types.NamespacedName, id string) {
	delete(p.byApp, app)
	if e, ok := p.entries[id]; ok {
		delete(e.apps, app)
		if len(e.apps) == 0 {
			delete(p.entries, id)
		}
	}
}

// Start polls every interval until ctx ends (a controller-runtime Runnable).
func (p *revisionPoller) Start(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			p.poll(ctx)
		}
	}
}

// poll lists each followed source once and queues the Applications of
// those whose commit changed.
func (p *revisionPoller) poll(ctx context.Context) {
	p.mu.Lock()
	ids := make([]string, 0, len(p.entries))
	for id := range p.entries {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.mu.Lock()
		e, ok := p.entries[id]
		var req source.Request
		if ok {
			req = e.req
		}
		p.mu.Unlock()
		if !ok {
			continue
		}
		commit, err := p.sources.Pin(ctx, req)
		if err != nil {
			// The Applications report source failures themselves at their
			// own syncs; a poll only looks for news.
			p.log.Debug("revision poll failed", "repository", req.URL, "error", err)
			continue
		}
		for _, app := range p.changed(id, commit) {
			p.enqueue(app)
		}
	}
}

// changed records commit for id and returns its Applications if it moved.
func (p *revisionPoller) changed(id, commit string) []types.NamespacedName {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.entries[id]
	if !ok || e.commit == commit {
		return nil
	}
	e.commit = commit
	apps := make([]types.NamespacedName, 0, len(e.apps))
	for app := range e.apps {
		apps = append(apps, app)
	}
	return apps
}

// followKey names a repository, revision and credentials, hashed so that
// the key holds no credential.
func followKey(req source.Request) string {
	h := sha256.New()
	for _, s := range []string{req.URL, req.Revision} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if c := req.Credentials; c != nil {
		for _, b := range [][]byte{[]byte(c.Username), []byte(c.Password), []byte(c.BearerToken), c.SSHPrivateKey, c.KnownHosts, c.CACert} {
			h.Write(b)
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// isCommit says whether a revision is a full commit SHA: it never moves.
func isCommit(rev string) bool {
	if len(rev) != 40 {
		return false
	}
	return strings.Trim(strings.ToLower(rev), "0123456789abcdef") == ""
}
