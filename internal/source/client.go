package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configures a Client.
type Options struct {
	// CacheDir holds the checkouts and git's private scratch space. The
	// Client owns its "checkouts", "tmp" and "home" subfolders and empties
	// them on start. Empty means a new temporary folder, removed by Close.
	// One Client per folder.
	CacheDir string
	// MaxCacheBytes bounds the bytes of checkouts kept. Past it, the least
	// recently used checkouts that nobody holds are removed; checkouts in use
	// are never removed, so the cache may pass the bound while they are held.
	MaxCacheBytes int64
	// MaxCheckoutBytes bounds one fetch: the git objects received and the
	// files checked out.
	MaxCheckoutBytes int64
	// MaxCheckoutFiles bounds the files of one git checkout, counted before
	// any is written, and the entries of one archive (an OCI layer, a chart
	// archive), folders included.
	MaxCheckoutFiles int
	// MaxRefsBytes bounds the ref listing of a repository.
	MaxRefsBytes int64
	// MaxStderrBytes bounds how much of git's error output is kept to
	// explain a failure.
	MaxStderrBytes int
	// ResolveTimeout bounds one ref listing (git ls-remote).
	ResolveTimeout time.Duration
	// FetchTimeout bounds one fetch and checkout of a commit.
	FetchTimeout time.Duration
	// AllowLocal permits file:// URLs. For tests and local development only:
	// with it, a repository URL may read any repository on this machine.
	AllowLocal bool
	// AllowLoopback permits connections to loopback addresses (127/8, ::1).
	// For tests and local development only, like AllowLocal. Link-local
	// (cloud metadata), unspecified and multicast addresses are refused
	// whatever the options.
	AllowLoopback bool
	// DenyPrivate refuses connections to private addresses (10/8,
	// 172.16/12, 192.168/16, 100.64/10, fc00::/7), for controllers whose
	// repositories are all on the internet.
	DenyPrivate bool
	// Resolver resolves repository host names before their addresses are
	// checked; nil means net.DefaultResolver.
	Resolver Resolver
	// Git and SSH are the binaries run; empty means "git" and "ssh" found
	// on PATH.
	Git, SSH string
	// Logger receives one line per fetch; nil means no logs.
	Logger *slog.Logger
	// ResolveShare is how long a git revision, once resolved, answers the
	// callers that ask for the same repository, revision and credentials,
	// without another ref listing: 1,000 Applications of one branch cost
	// one `git ls-remote`, not 1,000. Callers asking at the same time share
	// one listing. Zero (the default) shares nothing: every caller's access
	// is checked by a listing of its own; the controller sets it.
	ResolveShare time.Duration
}

// DefaultOptions returns a Client fit for a controller: a temporary cache
// folder of at most 2 GiB, 512 MiB and 10,000 files per checkout, 16 MiB of refs, a minute
// to list refs and five to fetch, and no file:// URLs.
func DefaultOptions() Options {
	return Options{
		MaxCacheBytes:    2 << 30,
		MaxCheckoutBytes: 512 << 20,
		MaxCheckoutFiles: 10000,
		MaxRefsBytes:     16 << 20,
		MaxStderrBytes:   64 << 10,
		ResolveTimeout:   time.Minute,
		FetchTimeout:     5 * time.Minute,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxCacheBytes <= 0 {
		o.MaxCacheBytes = d.MaxCacheBytes
	}
	if o.MaxCheckoutBytes <= 0 {
		o.MaxCheckoutBytes = d.MaxCheckoutBytes
	}
	if o.MaxCheckoutFiles <= 0 {
		o.MaxCheckoutFiles = d.MaxCheckoutFiles
	}
	if o.MaxRefsBytes <= 0 {
		o.MaxRefsBytes = d.MaxRefsBytes
	}
	if o.MaxStderrBytes <= 0 {
		o.MaxStderrBytes = d.MaxStderrBytes
	}
	if o.ResolveTimeout <= 0 {
		o.ResolveTimeout = d.ResolveTimeout
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = d.FetchTimeout
	}
	if o.Git == "" {
		o.Git = "git"
	}
	if o.SSH == "" {
		o.SSH = "ssh"
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Client resolves and fetches git revisions and keeps their checkouts. It is
// safe for concurrent use.
type Client struct {
	opts    Options
	rule    addressRule
	home    string // empty HOME of every git process
	tmp     string // scratch space: fetches in progress, credential files
	cache   *cache
	indexes *indexCache // parsed Helm repository indexes, briefly
	// indexParses lets one Helm index be parsed at a time: the memory
	// parsing takes is that of one index, however many repositories are
	// read at once.
	indexParses chan struct{}
	// resolved shares git ref listings between callers for a short time.
	resolved *resolveShare
	// last remembers the last checkout of each repository, whose files the
	// next one links.
	last lastCheckouts
	// verified remembers the OCI manifests whose signatures verified.
	verified  verifiedSet
	ownDir    bool // CacheDir was made by New and is removed by Close
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// New returns a Client. Close it to stop fetches in progress.
func New(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	c := &Client{opts: opts, rule: addressRule{allowLoopback: opts.AllowLoopback, denyPrivate: opts.DenyPrivate}}
	var err error
	if opts.CacheDir == "" {
		if c.opts.CacheDir, err = os.MkdirTemp("", "flotilla-source-"); err != nil {
			return nil, fmt.Errorf("source: cache folder: %w", err)
		}
		c.ownDir = true
	}
	if c.opts.CacheDir, err = filepath.Abs(c.opts.CacheDir); err != nil {
		return nil, fmt.Errorf("source: cache folder: %w", err)
	}
	c.home = filepath.Join(c.opts.CacheDir, "home")
	c.tmp = filepath.Join(c.opts.CacheDir, "tmp")
	checkouts := filepath.Join(c.opts.CacheDir, "checkouts")
	// What a previous process left is not trusted: nothing records which
	// checkouts were complete.
	for _, d := range []string{c.home, c.tmp, checkouts} {
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("source: cache folder: %w", err)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("source: cache folder: %w", err)
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.cache = newCache(checkouts, opts.MaxCacheBytes)
	c.indexes = newIndexCache()
	c.resolved = newResolveShare(opts.ResolveShare)
	c.indexParses = make(chan struct{}, 1)
	return c, nil
}

// Close cancels fetches in progress and waits for them; call it after the
// last Resolve or Fetch returned. Checkouts of the cache folder given in
// Options stay on disk (the next New empties them); a folder made by New is
// removed.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancel()
		c.cache.wait()
		err = os.RemoveAll(c.tmp)
		if c.ownDir {
			err = errors.Join(err, os.RemoveAll(c.opts.CacheDir))
		}
	})
	return err
}

// CacheStats describes the checkouts a Client keeps.
type CacheStats struct {
	Checkouts int
	Bytes     int64
	// InUse counts checkouts held by at least one Artifact not released.
	InUse int
}

// CacheStats returns the state of the checkout cache.
func (c *Client) CacheStats() CacheStats { return c.cache.stats() }
