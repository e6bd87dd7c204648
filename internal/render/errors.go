package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Sentinel errors, for decisions with errors.Is. Every error that Render
// returns about the source is an *Error whose Kind is one of these.
var (
	// ErrInvalidPath: a path in the request is not acceptable (absolute, a
	// traversal out of the root, URL-encoded, a NUL or control character).
	// Returned before anything is read, whether the target exists or not.
	ErrInvalidPath = errors.New("invalid path")
	// ErrOutsideRoot: the repository tried to reach a file outside Root: a
	// symbolic link that points out, or a kustomize reference that leaves the
	// repository. The target is never read.
	ErrOutsideRoot = errors.New("outside the repository")
	// ErrNotFound: the path, or a file it needs, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: a limit of Options was reached (file size, total bytes,
	// object count, nesting depth, YAML alias expansion).
	ErrTooLarge = errors.New("over a limit")
	// ErrMalformed: a manifest or kustomization could not be understood.
	ErrMalformed = errors.New("malformed")
	// ErrRemote: a kustomization refers to a remote base or file (a URL, a
	// git repository), or a chart to a dependency that is neither vendored
	// nor fetched by the caller. Only the checked-out source, and what the
	// caller fetched, is rendered.
	ErrRemote = errors.New("remote reference")
	// ErrUnsupported: the source asks for something this renderer refuses
	// to do, such as Helm chart inflation inside kustomize.
	ErrUnsupported = errors.New("unsupported")
	// ErrDecryption: a SOPS-encrypted file cannot be decrypted: the
	// Application has no decryption keys, none of its keys is a recipient
	// of the file, or the file was changed after it was encrypted (MAC
	// mismatch). Also a decryption key in the request that is not valid.
	ErrDecryption = errors.New("decryption failed")
)

// Error is a problem with the source. It names the file, relative to the
// request's Root and slash-separated, and the document when it is about one.
type Error struct {
	// File is relative to Root; empty when the error is about the request
	// itself (for example a kustomize patch given in KustomizeOptions).
	File string
	// Doc is the 1-based number of the YAML document (or JSON value) in File,
	// counting empty documents; 0 when the error is not about one document.
	Doc int
	// Kind is one of the Err… sentinels.
	Kind error
	// Msg says what went wrong, for people.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(displayName(e.File))
		if e.Doc > 0 {
			fmt.Fprintf(&b, " (document %d)", e.Doc)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, file string, format string, args ...any) *Error {
	return &Error{File: file, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// displayName quotes a repository path when it holds characters that would
// garble a log line (newlines, control or invisible characters). File names
// come from untrusted repositories.
func displayName(name string) string {
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return strconv.Quote(name)
		}
	}
	return name
}

// sizeText prints a byte count for people: 8 MiB, 1.5 KiB, 12 B.
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		value /= unit
		suffix = s
		if value < unit {
			break
		}
	}
	return strings.Replace(fmt.Sprintf("%.1f %s", value, suffix), ".0 ", " ", 1)
}
