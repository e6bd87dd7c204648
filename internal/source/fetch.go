package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Artifact is the checkout of one commit, shared by every caller that asked
// for the same repository and commit.
type Artifact struct {
	// URL is the repository URL, without credentials.
	URL string
	// Revision is the revision as asked; Ref is what it matched (empty for
	// a commit SHA) and Commit the commit checked out.
	Revision, Ref, Commit string
	// Dir holds the commit's files, without a .git folder and without
	// submodules. It is read-only (files have no write permission) and stays
	// until Release; after that the cache may remove it at any time.
	Dir string
	// Size is the bytes of the files in Dir.
	Size int64

	release sync.Once
	cache   *cache
	entry   *entry
}

// Release tells the cache the caller is done with Dir. It may be called
// more than once.
func (a *Artifact) Release() {
	a.release.Do(func() { a.cache.release(a.entry) })
}

// errCheckoutTooLarge ends a fetch that passed MaxCheckoutBytes.
var errCheckoutTooLarge = errors.New("checkout too large")

// sizePollInterval is how often a running fetch's size is measured.
const sizePollInterval = 200 * time.Millisecond

// Fetch resolves the revision as Resolve does and returns a checkout of its
// commit. The commit is fetched alone (a shallow fetch, no tags, no
// submodules) and cached by repository and commit: callers asking at the
// same time share one fetch, later callers reuse the checkout. Release the
// Artifact when done with it.
//
// With req.Verify set, the commit must carry a signature by one of its keys;
// the signature is checked on every call, cached checkout or not, since
// callers sharing a checkout may trust different keys.
func (c *Client) Fetch(ctx context.Context, req GitRequest) (*Artifact, error) {
	p, err := c.prepare("fetch", req)
	if err != nil {
		return nil, err
	}
	defer p.auth.cleanup()
	var trusted *trustedKeys
	if req.Verify != nil {
		// Keys are read before the remote is contacted: a Secret that cannot
		// be used fails the same way every time.
		if trusted, err = readTrustedKeys(req.Verify); err != nil {
			return nil, asError(err, "fetch", p.remote.raw, req.Revision)
		}
	}
	rev, err := c.resolve(ctx, p)
	if err != nil {
		return nil, asError(err, "fetch", p.remote.raw, req.Revision)
	}
	// The repository is part of the key, not only the commit: a caller is
	// handed a checkout only after Resolve proved, with its own
	// credentials, that it can read that repository.
	sum := sha256.Sum256([]byte(p.remote.key + "\x00" + rev.Commit))
	key := hex.EncodeToString(sum[:])
	e, err := c.cache.get(ctx, c.ctx, key, func(fillCtx context.Context, dir string) (int64, error) {
		return c.checkout(fillCtx, p.remote, req.Credentials, rev.Commit, dir)
	})
	if err != nil {
		return nil, asError(err, "fetch", p.remote.raw, req.Revision)
	}
	if trusted != nil {
		if err := verifyCachedCommit(e.dir, rev.Commit, trusted); err != nil {
			c.cache.release(e)
			return nil, asError(err, "fetch", p.remote.raw, req.Revision)
		}
	}
	return &Artifact{
		URL: p.remote.raw, Revision: req.Revision, Ref: rev.Ref, Commit: rev.Commit,
		Dir: filepath.Join(e.dir, checkoutTree), Size: e.size, cache: c.cache, entry: e,
	}, nil
}

// A cache entry of a commit is a folder holding the checked-out tree, which
// callers get as Artifact.Dir, and beside it the raw commit object, which
// holds the commit's signature: git checks out no .git folder, and the
// tree's files are the repository's to choose.
const (
	checkoutTree   = "tree"
	checkoutCommit = "commit"
)

// maxCommitObjectBytes bounds the raw commit object kept for verification:
// headers, signature and message.
const maxCommitObjectBytes = 1 << 20

// checkout fetches commit into a private git folder, checks it out into a
// separate tree and moves the tree, with the raw commit object beside it,
// to dir. It returns the tree's size.
func (c *Client) checkout(ctx context.Context, r remote, creds *Credentials, commit, dir string) (int64, error) {
	start := time.Now()
	// Credentials of its own: the fill outlives the caller that started it.
	a, err := c.newAuth(r, creds)
	if err != nil {
		return 0, err
	}
	defer a.cleanup()
	stage, err := os.MkdirTemp(c.tmp, "fetch-")
	if err != nil {
		return 0, &Error{Kind: ErrGit, Detail: "cannot make a staging folder", cause: err}
	}
	defer func() { _ = os.RemoveAll(stage) }()
	out, template := filepath.Join(stage, "out"), filepath.Join(stage, "template")
	gitDir, tree := filepath.Join(stage, "git"), filepath.Join(out, checkoutTree)
	for _, d := range []string{out, tree, template} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return 0, &Error{Kind: ErrGit, Detail: "cannot make a staging folder", cause: err}
		}
	}
	local := func(args ...string) invocation {
		return invocation{args: args, timeout: c.opts.FetchTimeout}
	}
	// An empty template: no sample hooks, nothing but what git needs.
	initArgs := []string{"init", "--quiet", "--bare", "--template=" + template}
	if len(commit) == 64 {
		initArgs = append(initArgs, "--object-format=sha256")
	}
	if _, err := c.run(ctx, local(append(initArgs, "--", gitDir)...)); err != nil {
		return 0, err
	}
	fetch := invocation{
		args: []string{"--git-dir=" + gitDir, "fetch", "--quiet", "--depth=1", "--no-tags",
			"--no-recurse-submodules", "--no-write-fetch-head", "--", r.raw, commit},
		remote: r, auth: a, timeout: c.opts.FetchTimeout,
	}
	if err := c.runBounded(ctx, fetch, gitDir); err != nil {
		return 0, err
	}
	listing, err := c.checkTree(ctx, gitDir, commit)
	if err != nil {
		return 0, err
	}
	if err := c.writeTree(ctx, r.key, gitDir, tree, commit, listing); err != nil {
		return 0, err
	}
	if listing != nil {
		if err := os.WriteFile(filepath.Join(out, checkoutListing), listing, 0o400); err != nil {
			return 0, &Error{Kind: ErrGit, Detail: "cannot keep the tree's listing", cause: err}
		}
	}
	if err := c.keepCommitObject(ctx, gitDir, commit, filepath.Join(out, checkoutCommit)); err != nil {
		return 0, err
	}
	size, err := sealTree(tree, c.opts.MaxCheckoutBytes)
	if err != nil {
		return 0, err
	}
	if err := os.Rename(out, dir); err != nil {
		return 0, &Error{Kind: ErrGit, Detail: "cannot move the checkout into the cache", cause: err}
	}
	if listing != nil {
		c.last.set(r.key, dir)
	}
	c.opts.Logger.Info("fetched", "url", r.raw, "commit", commit, "bytes", size, "duration", time.Since(start))
	return size, nil
}

// writeTree checks commit out into tree: the files it shares with the
// last checkout of the repository linked, the others written by git.
func (c *Client) writeTree(ctx context.Context, repo, gitDir, tree, commit string, listing []byte) error {
	if prev := c.last.get(repo); prev != "" && listing != nil {
		if rest, linked := linkFromLast(prev, tree, listing); linked {
			if len(rest) == 0 {
				return nil
			}
			return c.checkoutPaths(ctx, gitDir, tree, commit, rest)
		}
	}
	_, err := c.run(ctx, invocation{
		args:    []string{"--git-dir=" + gitDir, "--work-tree=" + tree, "checkout", "--quiet", "--force", commit},
		timeout: c.opts.FetchTimeout,
	})
	return err
}

// keepCommitObject writes the raw commit object to file, read-only. It is
// kept for every checkout, verified or not, because the next caller of the
// same commit may ask for verification.
func (c *Client) keepCommitObject(ctx context.Context, gitDir, commit, file string) error {
	raw, err := c.run(ctx, invocation{
		args:      []string{"--git-dir=" + gitDir, "cat-file", "commit", commit},
		timeout:   c.opts.FetchTimeout,
		maxStdout: maxCommitObjectBytes,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, raw, 0o400); err != nil {
		return &Error{Kind: ErrGit, Detail: "cannot keep the commit object", cause: err}
	}
	return nil
}

// runBounded runs a fetch and ends it if the git folder grows past
// MaxCheckoutBytes: git itself has no limit on what a server sends.
func (c *Client) runBounded(ctx context.Context, inv invocation, gitDir string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(sizePollInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if n, _ := treeSize(gitDir); n > c.opts.MaxCheckoutBytes {
					cancel(errCheckoutTooLarge)
					return
				}
			}
		}
	}()
	_, err := c.run(ctx, inv)
	return err
}

// treeSize adds up the sizes of the files below dir.
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // files come and go while git runs
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// sealTree measures a checked-out tree against max and takes away the write
// permission of its files, so that a caller writing into Dir by mistake
// fails instead of changing what other callers read.
func sealTree(tree string, max int64) (int64, error) {
	var n int64
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if n += info.Size(); n > max {
			return &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the checkout passed %d bytes", max)}
		}
		if perm := info.Mode().Perm(); d.Type().IsRegular() && perm&0o222 != 0 {
			// A file linked from the last checkout is sealed already.
			return os.Chmod(p, perm&^0o222)
		}
		return nil
	})
	var e *Error
	if err != nil && !errors.As(err, &e) {
		return 0, &Error{Kind: ErrGit, Detail: "cannot read the checkout", cause: err}
	}
	return n, err
}
