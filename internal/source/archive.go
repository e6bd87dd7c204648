package source

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"
)

// archiveLimits bound what one archive may unpack to.
type archiveLimits struct {
	// MaxBytes bounds the uncompressed tar stream, headers included, so it
	// also bounds the bytes written. It is counted while reading: sizes in
	// headers are not trusted.
	MaxBytes int64
	// MaxFiles bounds the entries of the archive, folders included.
	MaxFiles int
}

// maxEntryNameLength bounds an entry's name; tar's own limits are larger.
const maxEntryNameLength = 4096

// untarGzip unpacks a tar+gzip stream into dir, which must exist and be
// empty, and returns the bytes of the files written. It writes only regular
// files and folders, all inside dir: an absolute name, a ".." element, a
// link of either kind, a device or FIFO, a duplicate entry, more than
// lim.MaxFiles entries or more than lim.MaxBytes of tar stream make it stop
// with an *Error of kind ErrUnsafeArchive that names the entry. Files are
// left read-only, as checkouts are (see sealTree). On error dir holds part
// of the archive and the caller removes it.
//
// Writes go through an os.Root, so even a bug in the checks below cannot
// make a write land outside dir.
func untarGzip(r io.Reader, dir string, lim archiveLimits) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, &Error{Kind: ErrRegistry, Detail: "cannot open the unpack folder", cause: err}
	}
	defer func() { _ = root.Close() }()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return 0, unsafeArchive("not a gzip stream")
	}
	defer func() { _ = zr.Close() }()
	// The bound is on the uncompressed stream, not only on the files, so
	// that a gzip bomb of padding or headers stops as early as one of file
	// content.
	stream := &boundedReader{r: zr, left: lim.MaxBytes}
	u := unpacker{root: root, tr: tar.NewReader(stream), lim: lim, seen: map[string]bool{}}
	n, err := u.run()
	if stream.over {
		return n, unsafeArchive(fmt.Sprintf("uncompressed, the archive passes %d bytes", lim.MaxBytes))
	}
	return n, err
}

// unpacker is one run of untarGzip.
type unpacker struct {
	root  *os.Root
	tr    *tar.Reader
	lim   archiveLimits
	seen  map[string]bool // cleaned names of the entries written
	files int
	bytes int64
}

func (u *unpacker) run() (int64, error) {
	for {
		hdr, err := u.tr.Next()
		if errors.Is(err, io.EOF) {
			return u.bytes, nil
		}
		if err != nil {
			return u.bytes, unsafeArchive("not a tar archive: " + err.Error())
		}
		if u.files++; u.files > u.lim.MaxFiles {
			return u.bytes, unsafeArchive(fmt.Sprintf("more than %d entries", u.lim.MaxFiles))
		}
		if err := u.entry(hdr); err != nil {
			return u.bytes, err
		}
	}
}

// entry checks one header and writes what it names.
func (u *unpacker) entry(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		// Metadata for the whole archive (git archive writes the commit
		// here); it names no file.
		return nil
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink, tar.TypeLink:
		return unsafeEntry(hdr.Name, "links are not allowed")
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return unsafeEntry(hdr.Name, "devices and FIFOs are not allowed")
	default:
		return unsafeEntry(hdr.Name, fmt.Sprintf("entry type %q is not allowed", hdr.Typeflag))
	}
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // "./", the archive's own root
		}
		return unsafeEntry(hdr.Name, "a file cannot be the archive's root")
	}
	if u.seen[name] {
		return unsafeEntry(hdr.Name, "duplicate entry")
	}
	u.seen[name] = true
	if hdr.Typeflag == tar.TypeDir {
		if err := u.root.MkdirAll(name, 0o755); err != nil {
			return unsafeEntry(hdr.Name, "cannot make the folder (it clashes with a file)")
		}
		return nil
	}
	return u.file(hdr, name)
}

// file writes a regular file; its parent folders are made as needed.
func (u *unpacker) file(hdr *tar.Header, name string) error {
	if parent := path.Dir(name); parent != "." {
		if err := u.root.MkdirAll(parent, 0o755); err != nil {
			return unsafeEntry(hdr.Name, "cannot make its folder (it clashes with a file)")
		}
	}
	// O_EXCL: never open what is already there, whatever it is.
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return unsafeEntry(hdr.Name, "clashes with a folder")
		}
		return &Error{Kind: ErrRegistry, Detail: "cannot write an unpacked file", cause: err}
	}
	n, err := io.Copy(f, u.tr)
	u.bytes += n
	if err != nil {
		_ = f.Close()
		return unsafeArchive(fmt.Sprintf("entry %q: cannot read it: %v", shortName(hdr.Name), err))
	}
	perm := fs.FileMode(0o444)
	if hdr.Mode&0o111 != 0 {
		perm |= 0o111
	}
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return &Error{Kind: ErrRegistry, Detail: "cannot seal an unpacked file", cause: err}
	}
	if err := f.Close(); err != nil {
		return &Error{Kind: ErrRegistry, Detail: "cannot write an unpacked file", cause: err}
	}
	return nil
}

// untarChart unpacks a Helm chart archive (.tgz) into dir, as untarGzip
// does, and checks its shape: one top folder named after the chart, holding
// a Chart.yaml. Anything else is an *Error of kind ErrUnsafeArchive: a
// chart under another name could be rendered in place of the one asked for.
func untarChart(r io.Reader, dir, chart string, lim archiveLimits) (int64, error) {
	n, err := untarGzip(r, dir, lim)
	if err != nil {
		return n, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return n, &Error{Kind: ErrRegistry, Detail: "cannot read the unpacked chart", cause: err}
	}
	if len(entries) != 1 || !entries[0].IsDir() || entries[0].Name() != chart {
		names := make([]string, 0, 3)
		for i, e := range entries {
			if i == 3 {
				names = append(names, "…")
				break
			}
			names = append(names, shortName(e.Name()))
		}
		return n, unsafeArchive(fmt.Sprintf("a chart archive must hold one folder named %q; this one holds %q", chart, names))
	}
	info, err := os.Lstat(filepath.Join(dir, chart, "Chart.yaml"))
	if err != nil || !info.Mode().IsRegular() {
		return n, unsafeArchive(fmt.Sprintf("the chart archive has no %s/Chart.yaml", chart))
	}
	return n, nil
}

// entryName returns the cleaned, slash-separated relative name of an entry,
// or an error if the raw name could point anywhere but inside the folder.
func entryName(raw string) (string, error) {
	switch {
	case raw == "":
		return "", unsafeEntry(raw, "empty name")
	case len(raw) > maxEntryNameLength:
		return "", unsafeEntry(raw, fmt.Sprintf("name longer than %d bytes", maxEntryNameLength))
	case strings.HasPrefix(raw, "/"):
		return "", unsafeEntry(raw, "absolute name")
	case strings.Contains(raw, `\`):
		return "", unsafeEntry(raw, "backslash in name")
	}
	for _, r := range raw {
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return "", unsafeEntry(raw, "control character or invalid UTF-8 in name")
		}
	}
	for elem := range strings.SplitSeq(raw, "/") {
		if elem == ".." {
			return "", unsafeEntry(raw, `".." in name`)
		}
	}
	name := path.Clean(raw)
	if !fs.ValidPath(name) {
		return "", unsafeEntry(raw, "name outside the archive's folder")
	}
	return name, nil
}

// boundedReader reads at most left bytes and records that there were more.
type boundedReader struct {
	r    io.Reader
	left int64
	over bool
}

// errStreamTooLarge ends a read past the bound.
var errStreamTooLarge = errors.New("archive too large")

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a stream of exactly the bound from a larger one.
		var one [1]byte
		if n, _ := io.ReadFull(b.r, one[:]); n > 0 {
			b.over = true
			return 0, errStreamTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func unsafeArchive(detail string) *Error {
	return &Error{Kind: ErrUnsafeArchive, Detail: detail}
}

func unsafeEntry(name, why string) *Error {
	return unsafeArchive(fmt.Sprintf("entry %q: %s", shortName(name), why))
}

// shortName bounds an entry name quoted in an error.
func shortName(name string) string {
	const max = 120
	if len(name) > max {
		return strings.ToValidUTF8(name[:max], "") + "…"
	}
	return name
}
