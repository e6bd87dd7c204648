package source

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUntarGzip feeds untarGzip arbitrary streams: whatever it returns,
// nothing may be written outside its folder, and what it writes inside is
// regular files and folders only.
func FuzzUntarGzip(f *testing.F) {
	f.Add(makeTarGzip(f, tarEntry{Name: "dir/", Type: tar.TypeDir}, tarFile("dir/a.yaml", "a: 1\n"), tarFile("b", "b")))
	f.Add(makeTarGzip(f, tarFile("../evil", "x")))
	f.Add(makeTarGzip(f, tarFile("a/../../evil", "x")))
	f.Add(makeTarGzip(f, tarEntry{Name: "link", Type: tar.TypeSymlink, Link: ".."}, tarFile("link/evil", "x")))
	f.Add(makeTarGzip(f, tarEntry{Name: "hard", Type: tar.TypeLink, Link: "/etc/passwd"}))
	f.Add(gzipBomb(f, 4<<20))
	lim := archiveLimits{MaxBytes: 1 << 20, MaxFiles: 50}
	f.Fuzz(func(t *testing.T, archive []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		n, err := untarGzip(bytes.NewReader(archive), dir, lim)
		assertInside(t, parent, dir)
		if n > lim.MaxBytes {
			t.Fatalf("wrote %d bytes, bound %d", n, lim.MaxBytes)
		}
		if err == nil {
			var size int64
			for _, body := range readFiles(t, dir) {
				size += int64(len(body))
			}
			if size != n {
				t.Fatalf("reported %d bytes, wrote %d", n, size)
			}
		}
	})
}
