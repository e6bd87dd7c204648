package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tarEntry is one entry of a test archive; Size, when set, overrides the
// header's size (to lie about it).
type tarEntry struct {
	Name, Body, Link string
	Type             byte
	Mode             int64
	Size             int64
}

func tarFile(name, body string) tarEntry { return tarEntry{Name: name, Body: body, Type: tar.TypeReg} }

// makeTarGzip builds a tar+gzip archive of entries. It writes raw headers,
// so it can build archives that archive/tar's writer would refuse.
func makeTarGzip(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Link, Mode: e.Mode, Size: int64(len(e.Body)), Format: tar.FormatPAX}
		if hdr.Mode == 0 && e.Type != tar.TypeXGlobalHeader {
			hdr.Mode = 0o644
		}
		if e.Type == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: e.Type, PAXRecords: map[string]string{"comment": "abc"}}
		}
		if e.Type != tar.TypeReg {
			hdr.Size = 0
		}
		if e.Size != 0 {
			hdr.Size = e.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %q: %v", e.Name, err)
		}
		if _, err := io.WriteString(tw, e.Body); err != nil && e.Size == 0 {
			t.Fatalf("tar body %q: %v", e.Name, err)
		}
	}
	// A short body (a header that lies) leaves the writer unhappy; the
	// archive is cut there, as a hostile one would be.
	_ = tw.Close()
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipBomb is a gzip stream of n zero bytes: a tar reader sees an endless
// run of empty blocks only if nothing bounds it. The zeros are preceded by
// one valid file header so the tar reader keeps reading file content.
func gzipBomb(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		if _, err := tw.Write(zero[:min(left, int64(len(zero)))]); err != nil {
			t.Fatal(err)
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

var testLimits = archiveLimits{MaxBytes: 1 << 20, MaxFiles: 10}

func TestUntarGzip(t *testing.T) {
	tests := []struct {
		name    string
		archive []byte
		want    map[string]string
		wantErr string // substring of the error; empty means success
	}{
		{
			name:    "files and folders",
			archive: makeTarGzip(t, tarEntry{Name: "./", Type: tar.TypeDir}, tarEntry{Name: "app/", Type: tar.TypeDir}, tarFile("app/a.yaml", "a: 1\n"), tarFile("b/c/d.txt", "deep"), tarEntry{Name: "run.sh", Body: "#!/bin/sh\n", Type: tar.TypeReg, Mode: 0o755}),
			want:    map[string]string{"app/a.yaml": "a: 1\n", "b/c/d.txt": "deep", "run.sh": "#!/bin/sh\n"},
		},
		{
			name:    "explicit folder after its files",
			archive: makeTarGzip(t, tarFile("a/b", "x"), tarEntry{Name: "a/", Type: tar.TypeDir}),
			want:    map[string]string{"a/b": "x"},
		},
		{
			name:    "pax global header is skipped",
			archive: makeTarGzip(t, tarEntry{Name: "pax_global_header", Type: tar.TypeXGlobalHeader}, tarFile("a", "x")),
			want:    map[string]string{"a": "x"},
		},
		{name: "dot-dot", archive: makeTarGzip(t, tarFile("../evil", "x")), wantErr: `entry "../evil": ".." in name`},
		{name: "dot-dot inside", archive: makeTarGzip(t, tarFile("a/../../evil", "x")), wantErr: `".." in name`},
		{name: "dot-dot that stays inside", archive: makeTarGzip(t, tarFile("a/../b", "x")), wantErr: `".." in name`},
		{name: "absolute", archive: makeTarGzip(t, tarFile("/etc/evil", "x")), wantErr: "absolute name"},
		{name: "backslash", archive: makeTarGzip(t, tarFile(`..\evil`, "x")), wantErr: "backslash"},
		{name: "control character", archive: makeTarGzip(t, tarFile("a\nb", "x")), wantErr: "control character"},
		{name: "symlink", archive: makeTarGzip(t, tarEntry{Name: "link", Type: tar.TypeSymlink, Link: "/etc/passwd"}), wantErr: `entry "link": links are not allowed`},
		{name: "symlink then write through it", archive: makeTarGzip(t, tarEntry{Name: "d", Type: tar.TypeSymlink, Link: ".."}, tarFile("d/evil", "x")), wantErr: "links are not allowed"},
		{name: "hard link", archive: makeTarGzip(t, tarEntry{Name: "h", Type: tar.TypeLink, Link: "/etc/passwd"}), wantErr: "links are not allowed"},
		{name: "device", archive: makeTarGzip(t, tarEntry{Name: "dev", Type: tar.TypeChar}), wantErr: "devices and FIFOs"},
		{name: "fifo", archive: makeTarGzip(t, tarEntry{Name: "fifo", Type: tar.TypeFifo}), wantErr: "devices and FIFOs"},
		{name: "duplicate file", archive: makeTarGzip(t, tarFile("a", "1"), tarFile("./a", "2")), wantErr: `entry "./a": duplicate entry`},
		{name: "file over folder", archive: makeTarGzip(t, tarEntry{Name: "a/", Type: tar.TypeDir}, tarFile("a", "1")), wantErr: "duplicate entry"},
		{name: "folder through file", archive: makeTarGzip(t, tarFile("a", "1"), tarFile("a/b", "2")), wantErr: "clashes with a file"},
		{name: "file as root", archive: makeTarGzip(t, tarFile(".", "1")), wantErr: "archive's root"},
		{name: "too many files", archive: makeTarGzip(t, manyFiles(11)...), wantErr: "more than 10 entries"},
		{name: "too many bytes", archive: makeTarGzip(t, tarFile("big", strings.Repeat("x", 1<<20+1))), wantErr: "passes 1048576 bytes"},
		{name: "header lies about size", archive: makeTarGzip(t, tarEntry{Name: "short", Body: "abc", Type: tar.TypeReg, Size: 1 << 10}), wantErr: "cannot read it"},
		{name: "gzip bomb", archive: gzipBomb(t, 8<<20), wantErr: "passes 1048576 bytes"},
		{name: "not gzip", archive: []byte("plain text"), wantErr: "not a gzip stream"},
		{name: "gzip but not tar", archive: gzipOf(t, strings.Repeat("not a tar header ", 64)), wantErr: "not a tar archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			n, err := untarGzip(bytes.NewReader(tt.archive), dir, testLimits)
			assertInside(t, parent, dir)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnsafeArchive) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrUnsafeArchive with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("untarGzip: %v", err)
			}
			got := readFiles(t, dir)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			var size int64
			for _, body := range tt.want {
				size += int64(len(body))
			}
			if n != size {
				t.Errorf("bytes = %d, want %d", n, size)
			}
		})
	}
}

func TestUntarGzipSealsFiles(t *testing.T) {
	dir := t.TempDir()
	archive := makeTarGzip(t, tarFile("a", "x"), tarEntry{Name: "run", Body: "y", Type: tar.TypeReg, Mode: 0o775})
	if _, err := untarGzip(bytes.NewReader(archive), dir, testLimits); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"a": 0o444, "run": 0o555} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}

func TestUntarChart(t *testing.T) {
	tests := []struct {
		name    string
		archive []byte
		wantErr string
	}{
		{name: "one folder", archive: makeTarGzip(t, tarFile("guestbook/Chart.yaml", "name: guestbook\n"), tarFile("guestbook/templates/a.yaml", "a"))},
		{name: "wrong name", archive: makeTarGzip(t, tarFile("other/Chart.yaml", "name: other\n")), wantErr: `must hold one folder named "guestbook"; this one holds ["other"]`},
		{name: "two folders", archive: makeTarGzip(t, tarFile("guestbook/Chart.yaml", "x"), tarFile("extra/a", "x")), wantErr: "must hold one folder"},
		{name: "file at top", archive: makeTarGzip(t, tarFile("guestbook", "x")), wantErr: "must hold one folder"},
		{name: "no Chart.yaml", archive: makeTarGzip(t, tarFile("guestbook/values.yaml", "x")), wantErr: "no guestbook/Chart.yaml"},
		{name: "unsafe", archive: makeTarGzip(t, tarFile("guestbook/../../x", "x")), wantErr: `".." in name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := untarChart(bytes.NewReader(tt.archive), t.TempDir(), "guestbook", testLimits)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("untarChart: %v", err)
			case tt.wantErr != "" && (!errors.Is(err, ErrUnsafeArchive) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want ErrUnsafeArchive with %q", err, tt.wantErr)
			}
		})
	}
}

func manyFiles(n int) []tarEntry {
	var entries []tarEntry
	for i := range n {
		entries = append(entries, tarFile(strings.Repeat("f", i+1), "x"))
	}
	return entries
}

func gzipOf(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// assertInside fails if parent holds anything but dir, or if anything below
// dir is not a regular file or a folder.
func assertInside(t testing.TB, parent, dir string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || filepath.Join(parent, entries[0].Name()) != dir {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("written outside %s: %v", dir, names)
	}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			t.Errorf("%s: not a regular file or folder (%v)", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
