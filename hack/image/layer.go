package main

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// extraFile is a file (or, with Dir, a folder) the image gets besides the
// packages' own.
type extraFile struct {
	Path string
	Mode int64
	Dir  bool
	UID  int
	Data []byte
}

// skipped are the parts of the packages nobody reads in a container.
var skipped = []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", "usr/share/bug"}

// dirLayer is a layer of every file under root (owned by root, dated
// created, so the same inputs give the same digest) plus extras.
func dirLayer(root string, created time.Time, extras []extraFile) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, s := range skipped {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return addPath(tw, p, rel, created)
	})
	if err != nil {
		return nil, err
	}
	if err := addExtras(tw, created, extras); err != nil {
		return nil, err
	}
	return finish(tw, &buf)
}

// filesLayer is a layer of extras alone.
func filesLayer(created time.Time, extras []extraFile) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := addExtras(tw, created, extras); err != nil {
		return nil, err
	}
	return finish(tw, &buf)
}

func finish(tw *tar.Writer, buf *bytes.Buffer) (v1.Layer, error) {
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

func addPath(tw *tar.Writer, p, rel string, created time.Time) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name, h.ModTime = rel, created
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	h.Format = tar.FormatPAX
	if fi.IsDir() {
		h.Name += "/"
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = io.Copy(tw, f)
	return err
}

func addExtras(tw *tar.Writer, created time.Time, extras []extraFile) error {
	sort.Slice(extras, func(i, j int) bool { return extras[i].Path < extras[j].Path })
	for _, e := range extras {
		h := &tar.Header{
			Name: strings.TrimPrefix(e.Path, "/"), Mode: e.Mode, ModTime: created,
			Uid: e.UID, Gid: e.UID, Typeflag: tar.TypeReg, Size: int64(len(e.Data)), Format: tar.FormatPAX,
		}
		if e.Dir {
			h.Typeflag, h.Size, h.Name = tar.TypeDir, 0, h.Name+"/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !e.Dir {
			if _, err := tw.Write(e.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

// baseExtras are what the packages' maintainer scripts would have made,
// which no script runs here: the user, and the CA bundle.
func baseExtras(root string) []extraFile {
	passwd := "root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:" + home + ":/usr/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:65532:\n"
	return []extraFile{
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Path: "/etc/group", Mode: 0o644, Data: []byte(group)},
		{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: caBundle(root)},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: home, Mode: 0o755, Dir: true, UID: uid},
	}
}

// caBundle concatenates the certificates the ca-certificates package ships,
// as update-ca-certificates would.
func caBundle(root string) []byte {
	var out bytes.Buffer
	files, _ := filepath.Glob(filepath.Join(root, "usr/share/ca-certificates/*/*.crt"))
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		out.Write(bytes.TrimSpace(data))
		out.WriteByte('\n')
	}
	return out.Bytes()
}
