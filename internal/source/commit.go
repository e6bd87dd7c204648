package source

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CommitInfo is what a git commit says of itself, bounded for status and
// the UI: who wrote it and the first line of its message.
type CommitInfo struct {
	// Author is the author's name and address as git shows them,
	// "Name <address>", at most MaxCommitAuthor bytes.
	Author string
	// Message is the first line of the commit message, at most
	// MaxCommitMessage bytes.
	Message string
}

// The bounds of CommitInfo's fields. Longer values are cut at a character
// boundary and end with "…".
const (
	MaxCommitAuthor  = 256
	MaxCommitMessage = 256
)

// Commit fetches a git revision as Fetch does (sharing its cache: a commit
// just synced is not fetched again) and reads its author and message from
// the commit object kept beside the checkout. Signatures are not checked:
// req.Verify is ignored, since nothing is handed out but these two lines.
func (c *Client) Commit(ctx context.Context, req GitRequest) (CommitInfo, error) {
	req.Verify = nil
	a, err := c.Fetch(ctx, req)
	if err != nil {
		return CommitInfo{}, err
	}
	defer a.Release()
	raw, err := os.ReadFile(filepath.Join(a.entry.dir, checkoutCommit))
	if err != nil {
		return CommitInfo{}, asError(&Error{Kind: ErrGit, Detail: "cannot read the kept commit object", cause: err}, "fetch", a.URL, req.Revision)
	}
	return parseCommit(raw), nil
}

// parseCommit reads the author header and the message's first non-empty
// line of a raw commit object. Unprintable characters become spaces, so
// the values are safe to print on one line.
func parseCommit(raw []byte) CommitInfo {
	var info CommitInfo
	header, message, _ := bytes.Cut(raw, []byte("\n\n"))
	for line := range bytes.Lines(header) {
		if rest, ok := bytes.CutPrefix(line, []byte("author ")); ok {
			info.Author = bound(authorName(string(bytes.TrimRight(rest, "\n"))), MaxCommitAuthor)
			break
		}
	}
	for line := range bytes.Lines(message) {
		if l := strings.TrimSpace(printable(string(line))); l != "" {
			info.Message = bound(l, MaxCommitMessage)
			break
		}
	}
	return info
}

// authorName drops the time and zone that follow the address in an author
// header: "Ann <ann@example.com> 1700000000 +0100".
func authorName(v string) string {
	if i := strings.LastIndexByte(v, '>'); i >= 0 {
		v = v[:i+1]
	}
	return strings.TrimSpace(printable(v))
}

// printable replaces invalid UTF-8 and unprintable characters with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
}

// bound cuts s to at most n bytes at a character boundary, ending with "…".
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
