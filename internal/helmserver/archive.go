package helmserver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"slices"
	"testing"
)

// Archive packs files, by their full names in the archive, into a tar+gzip
// stream as `helm package` would: regular files of mode 0644 and no folder
// entries. Names are written as given, so a test can pack hostile ones
// ("../x", "/etc/x"). The same files always give the same bytes.
func Archive(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(files[name])),
			ModTime: created, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("helmserver: archive %s: %v", name, err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatalf("helmserver: archive %s: %v", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("helmserver: archive: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("helmserver: archive: %v", err)
	}
	return buf.Bytes()
}
