package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// A new commit of a repository mostly holds the files of the one before:
// writing thousands of files costs a second on a slow disk, linking them
// a tenth of that. So the checkout of a commit links every regular file
// whose mode and object are those of the last checkout of the same
// repository, and lets git write the rest. Checked-out files are never
// written to again (sealTree takes their write permission), so two
// checkouts can share them.

// checkoutListing is the file, beside a cached tree, holding the listing of
// its regular files as `git ls-tree -r -l -z` printed it.
const checkoutListing = "listing"

// maxListingBytes bounds a listing kept for reuse: a commit whose listing
// is larger is checked out in full every time.
const maxListingBytes = 4 << 20

// treeFile is one regular file of a commit's tree.
type treeFile struct {
	mode, object string
}

// lastCheckouts remembers, per repository, the cache folder of the last
// checkout made of it.
type lastCheckouts struct {
	mu   sync.Mutex
	dirs map[string]string
}

func (l *lastCheckouts) get(repo string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dirs[repo]
}

func (l *lastCheckouts) set(repo, dir string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirs == nil {
		l.dirs = map[string]string{}
	}
	l.dirs[repo] = dir
}

// parseListing reads a listing into its regular files by path, and the
// paths of its symbolic links, which git writes. Submodules are not
// checked out.
func parseListing(listing []byte) (files map[string]treeFile, links []string) {
	files = map[string]treeFile{}
	for record := range bytes.SplitSeq(listing, []byte{0}) {
		r, ok := parseTreeRecord(record)
		switch {
		case !ok || r.kind != "blob":
		case r.mode == "100644" || r.mode == "100755":
			files[r.path] = treeFile{mode: r.mode, object: r.object}
		case r.mode == "120000":
			links = append(links, r.path)
		}
	}
	return files, links
}

// attributesPath says whether p is a .gitattributes file: what git writes
// for a blob depends on them (line endings, filters), so a commit that
// changes any of them is checked out in full.
func attributesPath(p string) bool {
	return path.Base(p) == ".gitattributes"
}

// plainPath says whether p, a path of a tree git already checked out once,
// is one to link by: relative, clean, and nowhere near a .git folder.
func plainPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return false
	}
	for part := range strings.SplitSeq(p, "/") {
		if part == ".." || part == "." || strings.EqualFold(part, ".git") {
			return false
		}
	}
	return true
}

// linkFromLast fills tree, the checkout of commit in progress, with links to
// the files of prev (the cache folder of the last checkout of the same
// repository) that the commit holds unchanged, and returns the paths of
// the listing git must still write. ok is false when nothing may be
// linked: the .gitattributes files differ, or prev cannot be read.
func linkFromLast(prev, tree string, listing []byte) (rest []string, ok bool) {
	old, err := readListing(filepath.Join(prev, checkoutListing))
	if err != nil {
		return nil, false
	}
	now, links := parseListing(listing)
	for p, f := range now {
		if attributesPath(p) && old[p] != f {
			return nil, false
		}
	}
	for p := range old {
		if attributesPath(p) {
			if _, kept := now[p]; !kept {
				return nil, false
			}
		}
	}
	from := filepath.Join(prev, checkoutTree)
	for p, f := range now {
		if old[p] != f || !plainPath(p) || linkFile(filepath.Join(from, p), filepath.Join(tree, p)) != nil {
			rest = append(rest, p)
		}
	}
	return append(rest, links...), true
}

// linkFile links dst to src, a regular file, making dst's folders.
func linkFile(src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Link(src, dst)
}

// readListing reads a kept listing, at most maxListingBytes.
func readListing(file string) (map[string]treeFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxListingBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxListingBytes {
		return nil, errors.New("listing too large")
	}
	files, _ := parseListing(data)
	return files, nil
}

// checkoutPaths has git write paths of commit into tree: literal paths, fed
// on standard input.
func (c *Client) checkoutPaths(ctx context.Context, gitDir, tree, commit string, paths []string) error {
	var in bytes.Buffer
	for _, p := range paths {
		in.WriteString(p)
		in.WriteByte(0)
	}
	_, err := c.run(ctx, invocation{
		args: []string{"--literal-pathspecs", "--git-dir=" + gitDir, "--work-tree=" + tree, "checkout", "--quiet", "--force",
			"--pathspec-from-file=-", "--pathspec-file-nul", commit},
		timeout: c.opts.FetchTimeout,
		stdin:   &in,
	})
	return err
}
