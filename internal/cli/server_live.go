package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/server"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// liveFlags say how the server reaches workload clusters and sources for
// the live views: as the controller does, so that a diff fetches and
// renders what a sync would.
type liveFlags struct {
	allowLocalRepos      bool
	denyPrivateRepos     bool
	allowExecCredentials bool
	cacheDir             string
	maxFollow            time.Duration
}

func (l *liveFlags) add(cmd *cobra.Command) {
	l.addSources(cmd)
	cmd.Flags().DurationVar(&l.maxFollow, "log-follow-limit", live.DefaultLimits().MaxFollow, "how long a followed pod log streams at most before the server ends it")
}

// addSources adds the flags that say which repositories and cluster
// credentials a preview may use, as the controller's.
func (l *liveFlags) addSources(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&l.allowLocalRepos, "allow-local-repos", false, "allow file:// repository URLs and repositories on loopback addresses in diffs (development only; as the controller's flag)")
	f.BoolVar(&l.denyPrivateRepos, "deny-private-repos", false, "refuse repositories on private addresses in diffs (as the controller's flag)")
	f.BoolVar(&l.allowExecCredentials, "allow-exec-credentials", false, "allow kubeconfig exec plugins and auth providers in Cluster Secrets (as the controller's flag)")
	f.StringVar(&l.cacheDir, "cache-dir", "", "folder for sources fetched for diffs (default: the user cache folder)")
}

// newLive builds the server's live views (liveReader) with its limits.
func newLive(opts server.Options, l *liveFlags) (server.Live, func(), error) {
	if l.maxFollow <= 0 {
		return nil, nil, fmt.Errorf("--log-follow-limit %s: want a positive duration", l.maxFollow)
	}
	scheme, err := server.NewScheme()
	if err != nil {
		return nil, nil, err
	}
	hub, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, err
	}
	limits := live.DefaultLimits()
	limits.MaxFollow = l.maxFollow
	r, closeLive, err := l.reader(liveSetup{hub: hub, config: opts.Config, namespace: opts.Namespace,
		logger: opts.Logger, cache: "server-sources", limits: limits})
	if err != nil {
		return nil, nil, err
	}
	return server.LiveReader(r), closeLive, nil
}

// liveSetup is what a live reader is built over.
type liveSetup struct {
	hub    client.Client
	config *rest.Config // the hub's, for its "in-cluster" destination
	// namespace is Flotilla's own, as the controller's (Projects never
	// allow it by a wildcard).
	namespace string
	logger    *slog.Logger
	// cache names the folder of fetched sources under the user cache
	// folder, when --cache-dir is not given.
	cache  string
	limits live.Limits
}

// reader builds a cluster registry and an engine of its own (for previews
// only: it never applies, never watches), and the live reader over them:
// what the server runs, and the CLI's preview without a server. close
// stops the engine.
func (l *liveFlags) reader(ls liveSetup) (*live.Reader, func(), error) {
	clOpts := cluster.DefaultOptions()
	clOpts.AllowExec = l.allowExecCredentials
	registry := cluster.NewRegistry(ls.hub, ls.config, clOpts)
	srcOpts := source.DefaultOptions()
	srcOpts.AllowLocal, srcOpts.AllowLoopback, srcOpts.DenyPrivate = l.allowLocalRepos, l.allowLocalRepos, l.denyPrivateRepos
	srcOpts.CacheDir = l.cacheDir
	if srcOpts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		srcOpts.CacheDir = filepath.Join(dir, "flotilla", ls.cache)
	}
	sources, err := source.New(srcOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("source cache: %w", err)
	}
	projects := project.DefaultOptions()
	projects.OwnNamespace = ls.namespace
	engOpts := engine.DefaultOptions()
	engOpts.Logger, engOpts.Project = ls.logger, projects
	// The engine's clients of each cluster serve the live views too: one
	// discovery client, REST mapper and request budget for each cluster.
	engOpts.RequestTimeout = ls.limits.RequestTimeout
	eng := engine.New(sources, render.New(render.DefaultOptions()), registry, engOpts)
	r := live.New(live.Options{Hub: ls.hub, Clusters: registry, Clients: eng, Previewer: eng, Projects: projects, Limits: ls.limits})
	return r, eng.Close, nil
}
