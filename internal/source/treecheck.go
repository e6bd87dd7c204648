package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxTreeRecordBytes bounds one line of `git ls-tree`: the mode, type,
// object name and size, and a path (git's own paths stay under 4,096
// bytes on every file system Flotilla runs on).
const maxTreeRecordBytes = 8 << 10

// errTreeLimit stops `git ls-tree` when the commit's tree passed a limit.
var errTreeLimit = errors.New("tree limit")

// checkTree measures the commit's tree before anything of it is written:
// the files it would check out and the bytes they hold, read from the
// object headers by `git ls-tree -r -l`, and stopped at the first record
// past a limit. A small repository can name one large blob from many paths
// (a tree of trees of the same blob) and check out to thousands of times
// its own size, and a tree of empty files can hold millions of them: the
// size poll of the fetch and the walk after the checkout both come too
// late for those.
//
// It returns the listing as git printed it, for the reuse of its files by
// the next checkout of the repository; nil when larger than
// maxListingBytes.
func (c *Client) checkTree(ctx context.Context, gitDir, commit string) ([]byte, error) {
	count := &treeCounter{maxBytes: c.opts.MaxCheckoutBytes, maxFiles: c.opts.MaxCheckoutFiles}
	_, err := c.run(ctx, invocation{
		args:    []string{"--git-dir=" + gitDir, "ls-tree", "-r", "-l", "-z", "--full-tree", commit},
		timeout: c.opts.FetchTimeout,
		stdout:  count,
	})
	switch {
	case count.err != nil:
		return nil, count.err
	case err != nil:
		return nil, err
	}
	if err := count.finish(); err != nil {
		return nil, err
	}
	if count.listingOver {
		return nil, nil
	}
	return count.listing, nil
}

// treeCounter reads `git ls-tree -r -l -z` output as git writes it, one
// NUL-terminated record at a time: "<mode> <type> <object> <size>\t<path>".
// Submodules (type commit) have no size and are not checked out, so they
// do not count.
type treeCounter struct {
	maxBytes int64
	maxFiles int
	bytes    int64
	files    int
	partial  []byte
	err      error
	// listing is what git printed, up to maxListingBytes.
	listing     []byte
	listingOver bool
}

func (t *treeCounter) Write(p []byte) (int, error) {
	n := len(p)
	if !t.listingOver {
		if len(t.listing)+n > maxListingBytes {
			t.listing, t.listingOver = nil, true
		} else {
			t.listing = append(t.listing, p...)
		}
	}
	for len(p) > 0 && t.err == nil {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			t.partial = append(t.partial, p...)
			if len(t.partial) > maxTreeRecordBytes {
				t.err = &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("a path of the commit is longer than %d bytes", maxTreeRecordBytes)}
			}
			break
		}
		record := p[:i]
		if len(t.partial) > 0 {
			record = append(t.partial, record...)
			t.partial = t.partial[:0]
		}
		t.add(record)
		p = p[i+1:]
	}
	if t.err != nil {
		return 0, errTreeLimit
	}
	return n, nil
}

// treeRecord is one record of `git ls-tree -r -l -z`.
type treeRecord struct {
	mode, kind, object, size, path string
}

// parseTreeRecord splits "<mode> <type> <object> <size>\t<path>".
func parseTreeRecord(record []byte) (treeRecord, bool) {
	meta, path, ok := bytes.Cut(record, []byte{'\t'})
	fields := strings.Fields(string(meta))
	if !ok || len(fields) != 4 {
		return treeRecord{}, false
	}
	return treeRecord{mode: fields[0], kind: fields[1], object: fields[2], size: fields[3], path: string(path)}, true
}

func (t *treeCounter) add(record []byte) {
	r, ok := parseTreeRecord(record)
	if !ok {
		t.err = &Error{Kind: ErrGit, Detail: "cannot read the commit's tree listing"}
		return
	}
	if r.kind != "blob" {
		return
	}
	size, err := strconv.ParseInt(r.size, 10, 64)
	if err != nil || size < 0 {
		t.err = &Error{Kind: ErrGit, Detail: "cannot read the commit's tree listing"}
		return
	}
	t.files++
	t.bytes += size
	switch {
	case t.files > t.maxFiles:
		t.err = &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the commit holds more than %d files (checked before checkout)", t.maxFiles)}
	case t.bytes > t.maxBytes:
		t.err = &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("the commit's files add up to more than %d bytes (checked before checkout)", t.maxBytes)}
	}
}

// finish reports a listing that ended inside a record.
func (t *treeCounter) finish() error {
	if len(t.partial) > 0 {
		return &Error{Kind: ErrGit, Detail: "the commit's tree listing ended early"}
	}
	return nil
}
