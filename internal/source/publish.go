package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Publication is a change to one branch of a repository: files to write,
// committed by one author with one message.
type Publication struct {
	// URL is the repository; Branch the branch to commit to (made when the
	// repository or the branch is empty).
	URL, Branch string
	Credentials *Credentials
	// Files are written (replaced) at their slash-separated paths.
	Files map[string][]byte
	// Initial files are written only where no file exists yet: they are the
	// user's to edit afterwards.
	Initial map[string][]byte
	// Message and the author of the commit.
	Message, AuthorName, AuthorEmail string
}

// Published says what Publish did.
type Published struct {
	// Commit is the branch's head afterwards.
	Commit string
	// Changed says a commit was pushed; false when the branch held the
	// files already.
	Changed bool
}

// Publish commits p's files to p.Branch and pushes the commit, unless the
// branch holds them already. It fetches only the branch's last commit, with
// the same credential handling, address rules and time limits as Fetch.
// A push that loses a race with another is refused by the server (no force
// is used), and the error says so.
func (c *Client) Publish(ctx context.Context, p Publication) (*Published, error) {
	pr, err := c.prepare("publish", GitRequest{URL: p.URL, Revision: p.Branch, Credentials: p.Credentials})
	if err != nil {
		return nil, err
	}
	defer pr.auth.cleanup()
	fail := func(err error) (*Published, error) { return nil, asError(err, "publish", pr.remote.raw, p.Branch) }
	if err := checkPublication(p); err != nil {
		return fail(err)
	}
	stage, err := os.MkdirTemp(c.tmp, "publish-")
	if err != nil {
		return fail(&Error{Kind: ErrGit, Detail: "cannot make a staging folder", cause: err})
	}
	defer func() { _ = os.RemoveAll(stage) }()
	work, template := filepath.Join(stage, "work"), filepath.Join(stage, "template")
	if err := os.Mkdir(template, 0o700); err != nil {
		return fail(&Error{Kind: ErrGit, Detail: "cannot make a staging folder", cause: err})
	}
	local := func(args ...string) invocation {
		return invocation{args: append([]string{"-C", work}, args...), timeout: c.opts.FetchTimeout, maxStdout: 1 << 20}
	}
	if _, err := c.run(ctx, invocation{args: []string{"init", "--quiet", "--template=" + template, "--", work}, timeout: c.opts.FetchTimeout}); err != nil {
		return fail(err)
	}
	// The branch's head, if it has one: the commit builds on it.
	head, err := c.checkoutBranch(ctx, pr, work, local)
	if err != nil {
		return fail(err)
	}
	paths, err := writeFiles(work, p.Files, false)
	if err != nil {
		return fail(err)
	}
	initial, err := writeFiles(work, p.Initial, true)
	if err != nil {
		return fail(err)
	}
	paths = append(paths, initial...)
	sort.Strings(paths)
	if len(paths) > 0 {
		if _, err := c.run(ctx, local(append([]string{"add", "--"}, paths...)...)); err != nil {
			return fail(err)
		}
	}
	status, err := c.run(ctx, local("status", "--porcelain", "--untracked-files=no"))
	if err != nil {
		return fail(err)
	}
	if len(strings.TrimSpace(string(status))) == 0 && head != "" {
		return &Published{Commit: head}, nil
	}
	commit := local("-c", "user.name="+p.AuthorName, "-c", "user.email="+p.AuthorEmail,
		"commit", "--quiet", "--no-verify", "--allow-empty", "-m", p.Message)
	if _, err := c.run(ctx, commit); err != nil {
		return fail(err)
	}
	commitID, err := c.run(ctx, local("rev-parse", "HEAD"))
	if err != nil {
		return fail(err)
	}
	push := invocation{
		args:   []string{"-C", work, "push", "--quiet", "--no-verify", "--", pr.remote.raw, "HEAD:refs/heads/" + p.Branch},
		remote: pr.remote, auth: pr.auth, timeout: c.opts.FetchTimeout,
	}
	if _, err := c.run(ctx, push); err != nil {
		var e *Error
		if errors.As(err, &e) && strings.Contains(e.Detail, "rejected") {
			e.Detail = "the branch moved while publishing; run again: " + e.Detail
		}
		return fail(err)
	}
	return &Published{Commit: strings.TrimSpace(string(commitID)), Changed: true}, nil
}

// checkPublication refuses a branch name git would read as something else,
// and file paths that leave the repository or touch its git folder.
func checkPublication(p Publication) error {
	bad := func(detail string) error { return &Error{Kind: ErrInvalidRevision, Detail: detail} }
	if p.Branch == "" || strings.HasPrefix(p.Branch, "-") || strings.Contains(p.Branch, "..") ||
		strings.ContainsAny(p.Branch, " ~^:?*[\\") || strings.HasPrefix(p.Branch, "refs/") {
		return bad(fmt.Sprintf("branch %q: want a plain branch name", p.Branch))
	}
	if p.Message == "" || p.AuthorName == "" || p.AuthorEmail == "" {
		return bad("a commit needs a message and an author")
	}
	for _, files := range []map[string][]byte{p.Files, p.Initial} {
		for name := range files {
			clean := path.Clean(name)
			if name == "" || clean != name || path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") ||
				clean == ".git" || strings.HasPrefix(clean, ".git/") {
				return &Error{Kind: ErrGit, Detail: fmt.Sprintf("file %q: want a clean path inside the repository", name)}
			}
		}
	}
	return nil
}

// writeFiles writes files under work and returns the paths it wrote; with
// keep, a file that exists already is left as it is.
func writeFiles(work string, files map[string][]byte, keep bool) ([]string, error) {
	var paths []string
	for name, data := range files {
		file := filepath.Join(work, filepath.FromSlash(name))
		if keep {
			if _, err := os.Lstat(file); err == nil {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, &Error{Kind: ErrGit, Detail: "cannot write " + name, cause: err}
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return nil, &Error{Kind: ErrGit, Detail: "cannot write " + name, cause: err}
		}
		paths = append(paths, name)
	}
	return paths, nil
}

// checkoutBranch checks out the branch's last commit into work and returns
// it; an empty repository or a missing branch gets an empty orphan branch
// and "".
func (c *Client) checkoutBranch(ctx context.Context, pr *prepared, work string, local func(...string) invocation) (string, error) {
	rev, err := c.resolve(ctx, pr)
	var srcErr *Error
	switch {
	case err == nil:
		fetch := invocation{
			args: []string{"-C", work, "fetch", "--quiet", "--depth=1", "--no-tags", "--no-recurse-submodules",
				"--", pr.remote.raw, rev.Commit},
			remote: pr.remote, auth: pr.auth, timeout: c.opts.FetchTimeout,
		}
		if err := c.runBounded(ctx, fetch, filepath.Join(work, ".git")); err != nil {
			return "", err
		}
		if _, err := c.checkTree(ctx, filepath.Join(work, ".git"), rev.Commit); err != nil {
			return "", err
		}
		_, err := c.run(ctx, local("checkout", "--quiet", "--force", "-B", "publish", rev.Commit))
		return rev.Commit, err
	case errors.As(err, &srcErr) && errors.Is(srcErr.Kind, ErrRevisionNotFound):
		// An empty repository, or no such branch yet: the first commit.
		_, err := c.run(ctx, local("checkout", "--quiet", "--orphan", "publish"))
		return "", err
	default:
		return "", err
	}
}
