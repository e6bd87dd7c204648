package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
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
	f := cmd.Flags()
	f.BoolVar(&l.allowLocalRepos, "allow-local-repos", false, "allow file:// repository URLs and repositories on loopback addresses in diffs (development only; as the controller's flag)")
	f.BoolVar(&l.denyPrivateRepos, "deny-private-repos", false, "refuse repositories on private addresses in diffs (as the controller's flag)")
	f.BoolVar(&l.allowExecCredentials, "allow-exec-credentials", false, "allow kubeconfig exec plugins and auth providers in Cluster Secrets (as the controller's flag)")
	f.StringVar(&l.cacheDir, "cache-dir", "", "folder for sources fetched for diffs (default: the user cache folder)")
	f.DurationVar(&l.maxFollow, "log-follow-limit", live.DefaultLimits().MaxFollow, "how long a followed pod log streams at most before the server ends it")
}

// newLive builds the live views: a cluster registry and an engine of the
// server's own (for previews only: it never applies, never watches), and
// the reader over them. close stops the engine.
func newLive(opts server.Options, l *liveFlags) (server.Live, func(), error) {
	scheme, err := server.NewScheme()
	if err != nil {
		return nil, nil, err
	}
	hub, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, err
	}
	clOpts := cluster.DefaultOptions()
	clOpts.AllowExec = l.allowExecCredentials
	registry := cluster.NewRegistry(hub, opts.Config, clOpts)
	srcOpts := source.DefaultOptions()
	srcOpts.AllowLocal, srcOpts.AllowLoopback, srcOpts.DenyPrivate = l.allowLocalRepos, l.allowLocalRepos, l.denyPrivateRepos
	srcOpts.CacheDir = l.cacheDir
	if srcOpts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		srcOpts.CacheDir = filepath.Join(dir, "flotilla", "server-sources")
	}
	sources, err := source.New(srcOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("source cache: %w", err)
	}
	projects := project.DefaultOptions()
	projects.OwnNamespace = opts.Namespace
	engOpts := engine.DefaultOptions()
	engOpts.Logger, engOpts.Project = opts.Logger, projects
	eng := engine.New(sources, render.New(render.DefaultOptions()), registry, engOpts)
	if l.maxFollow <= 0 {
		return nil, nil, fmt.Errorf("--log-follow-limit %s: want a positive duration", l.maxFollow)
	}
	limits := live.DefaultLimits()
	limits.MaxFollow = l.maxFollow
	r := live.New(live.Options{Hub: hub, Clusters: registry, Previewer: eng, Projects: projects, Limits: limits})
	return server.LiveReader(r), eng.Close, nil
}
