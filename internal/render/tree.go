package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/flotilla-dev/flotilla/internal/yamlsize"
)

// maxLinkHops bounds symbolic-link chains, as the kernel does (ELOOP).
const maxLinkHops = 40

// budget is what one render may still consume. A render runs on one
// goroutine (kustomize included), so it needs no lock.
type budget struct {
	opts      Options
	bytesLeft int64
	aliasLeft int64
	nodesLeft int
	objects   int // objects produced
	docs      int // YAML documents handed to kustomize
}

func newBudget(opts Options) *budget {
	return &budget{opts: opts, bytesLeft: opts.MaxTotalBytes, aliasLeft: opts.MaxAliasNodes, nodesLeft: opts.MaxYAMLNodes}
}

// takeNodes charges the YAML nodes of a text before it is parsed, counted
// by yamlsize.Nodes, refusing it when they pass what the render has left:
// parsing takes about 250 bytes of memory per node whatever the file's size
// (a dense 8 MiB list of one-letter values would take a gigabyte).
func takeNodes[T string | []byte](b *budget, file string, data T) error {
	n := yamlsize.Nodes(data, b.nodesLeft)
	if n > b.nodesLeft {
		return newError(ErrTooLarge, file, "the YAML read adds up to more than %d nodes, the limit for one render", b.opts.MaxYAMLNodes)
	}
	b.nodesLeft -= n
	return nil
}

// takeBytes charges a file of n bytes, refusing it from its size alone.
func (b *budget) takeBytes(file string, n int64) error {
	if n > b.opts.MaxFileBytes {
		return newError(ErrTooLarge, file, "%s, over the %s limit for one file",
			sizeText(n), sizeText(b.opts.MaxFileBytes))
	}
	if n > b.bytesLeft {
		return newError(ErrTooLarge, file, "the files read add up to more than the %s limit for one render",
			sizeText(b.opts.MaxTotalBytes))
	}
	b.bytesLeft -= n
	return nil
}

// takeObjects charges n objects found in a document.
func (b *budget) takeObjects(file string, doc, n int) error {
	b.objects += n
	if b.objects > b.opts.MaxObjects {
		e := newError(ErrTooLarge, file, "more than %d objects in one render", b.opts.MaxObjects)
		e.Doc = doc
		return e
	}
	return nil
}

// tree is one render's read-only view of the source folder. Every path it
// takes is clean, slash-separated and relative to the root ("" is the root).
//
// Symbolic links are followed only while they stay inside the root: tree
// resolves each path component by component, reading link texts but never
// the files behind a link that leaves the root, so such a link is refused
// (ErrOutsideRoot, naming the link) whether or not its target exists. The
// opened files go through os.Root as well, which refuses escapes on its own
// should the checkout change between the check and the read.
type tree struct {
	root *os.Root
	// dirs are Root as given (made absolute) and with its own links
	// resolved: an absolute link target under either is inside the tree.
	dirs []string
	b    *budget
	// keys decrypt SOPS files (see decrypt); nil: the request has none.
	keys *keyring
}

func openTree(dir string, b *budget) (*tree, error) {
	if dir == "" {
		return nil, &Error{Kind: ErrInvalidPath, Msg: "no source folder given"}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		// The folder is ours, not the repository's: do not print where it is.
		return nil, &Error{Kind: ErrNotFound, Msg: "the source folder cannot be opened: " + causeText(err)}
	}
	t := &tree{root: root, b: b}
	if abs, err := filepath.Abs(dir); err == nil {
		t.dirs = append(t.dirs, abs)
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			t.dirs = append(t.dirs, real)
		}
	}
	return t, nil
}

func (t *tree) close() { _ = t.root.Close() }

// resolve follows rel inside the tree and returns the same place as a path
// without symbolic links, with its Lstat information.
func (t *tree) resolve(rel string) (string, fs.FileInfo, error) {
	pending := splitPath(rel)
	var done []string
	lastLink, hops := "", 0
	for len(pending) > 0 {
		name := pending[0]
		pending = pending[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", nil, outsideError(rel, lastLink)
			}
			done = done[:len(done)-1]
			continue
		}
		cand := path.Join(append(done, name)...)
		fi, err := t.root.Lstat(cand)
		if err != nil {
			return "", nil, statError(rel, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(pending) > 0 && !fi.IsDir() {
				return "", nil, newError(ErrNotFound, rel, "does not exist (%s is not a folder)", displayName(cand))
			}
			done = append(done, name)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", nil, newError(ErrMalformed, cand, "too many levels of symbolic links")
		}
		parts, fromRoot, err := t.linkTarget(cand)
		if err != nil {
			return "", nil, err
		}
		lastLink = cand
		if fromRoot {
			done = done[:0]
		}
		pending = append(parts, pending...)
	}
	final := path.Join(done...)
	fi, err := t.root.Lstat(orDot(final))
	if err != nil {
		return "", nil, statError(rel, err)
	}
	return final, fi, nil
}

// linkTarget reads the link at link and returns its target as path
// components, and whether they start from the root rather than from the
// link's folder. A target that cannot be inside the tree is refused here;
// one that climbs out with ".." is refused by resolve.
func (t *tree) linkTarget(link string) ([]string, bool, error) {
	target, err := t.root.Readlink(link)
	if err != nil {
		return nil, false, statError(link, err)
	}
	if !filepath.IsAbs(target) {
		return splitPath(filepath.ToSlash(target)), false, nil
	}
	for _, dir := range t.dirs {
		if target == dir {
			return nil, true, nil
		}
		if rest, ok := strings.CutPrefix(target, dir+string(filepath.Separator)); ok {
			return splitPath(filepath.ToSlash(rest)), true, nil
		}
	}
	return nil, false, outsideError(link, link)
}

func outsideError(rel, link string) error {
	if link == "" {
		return newError(ErrOutsideRoot, rel, "leads outside the repository")
	}
	return newError(ErrOutsideRoot, link, "is a symbolic link that points outside the repository")
}

// openRegular resolves rel, checks that it is a regular file within the size
// limits, charges the budget and opens it. The reader stops at the size seen
// by the check, so a file growing meanwhile cannot exceed the limits.
func (t *tree) openRegular(rel string) (io.ReadCloser, error) {
	real, fi, err := t.resolve(rel)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, newError(ErrMalformed, rel, "is a folder, not a file")
	}
	if !fi.Mode().IsRegular() {
		return nil, newError(ErrMalformed, rel, "is not a regular file")
	}
	if err := t.b.takeBytes(rel, fi.Size()); err != nil {
		return nil, err
	}
	f, err := t.root.Open(real)
	if err != nil {
		return nil, statError(rel, err)
	}
	return readCloser{Reader: io.LimitReader(f, fi.Size()), Closer: f}, nil
}

// readFile reads a whole file (for kustomize, which wants bytes).
func (t *tree) readFile(rel string) ([]byte, error) {
	rc, err := t.openRegular(rel)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }() // read-only: nothing to flush
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, newError(ErrNotFound, rel, "cannot be read: %s", causeText(err))
	}
	return data, nil
}

// readDir lists a folder given as a resolved path (no links), sorted by name.
func (t *tree) readDir(real, shown string) ([]fs.DirEntry, error) {
	f, err := t.root.Open(orDot(real))
	if err != nil {
		return nil, statError(shown, err)
	}
	defer func() { _ = f.Close() }()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, newError(ErrNotFound, shown, "cannot be listed: %s", causeText(err))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func statError(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return newError(ErrNotFound, rel, "does not exist")
	}
	return newError(ErrNotFound, rel, "cannot be read: %s", causeText(err))
}

// causeText is the reason of a file-system error without the path it
// carries: paths in *PathError may be machine paths.
func causeText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return fmt.Sprint(err)
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}
