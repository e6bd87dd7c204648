package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/web"
)

// ContentSecurityPolicy is sent with every response of the UI. No inline
// script or style ('unsafe-inline' is absent), so a javascript: URL or an
// injected <script> does not run; Trusted Types make any assignment of a
// plain string to innerHTML throw.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// assetsPlaceholder is replaced in index.html by the versioned assets path.
const assetsPlaceholder = "{{ASSETS}}"

// ErrNoIndex is returned by New when the files hold no index.html.
var ErrNoIndex = errors.New("ui: index.html missing")

// Options configure the handler.
type Options struct {
	// FS holds index.html and an assets folder. Default: the embedded UI.
	FS fs.FS
}

// DefaultOptions serve the embedded UI.
func DefaultOptions() Options { return Options{FS: web.FS} }

// file is one asset, ready to serve.
type file struct {
	contentType string
	raw         []byte
	gzipped     []byte // nil when gzip would not make it smaller
}

// Handler serves the UI. It is safe for concurrent use.
type Handler struct {
	version string
	index   file
	assets  map[string]file // by path below assets/
}

// New reads every file once, so that serving never touches the file system.
func New(opts Options) (*Handler, error) {
	if opts.FS == nil {
		opts = DefaultOptions()
	}
	raw, err := readAll(opts.FS)
	if err != nil {
		return nil, err
	}
	indexHTML, ok := raw["index.html"]
	if !ok {
		return nil, ErrNoIndex
	}
	h := &Handler{version: version(raw), assets: map[string]file{}}
	for name, data := range raw {
		if rest, ok := strings.CutPrefix(name, "assets/"); ok {
			h.assets[rest] = newFile(name, data)
		}
	}
	indexHTML = bytes.ReplaceAll(indexHTML, []byte(assetsPlaceholder), []byte(h.AssetsPath()))
	h.index = newFile("index.html", indexHTML)
	return h, nil
}

// Version is the hash of the embedded files that names the assets folder.
func (h *Handler) Version() string { return h.version }

// AssetsPath is the URL path under which the assets are served.
func (h *Handler) AssetsPath() string { return "/assets/" + h.version }

// CompressedSize is the size of every file as served to a browser that
// accepts gzip: what a first visit downloads at most.
func (h *Handler) CompressedSize() int {
	n := h.index.size(true)
	for _, f := range h.assets {
		n += f.size(true)
	}
	return n
}

func readAll(fsys fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !servable(name) {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("ui: read %s: %w", name, err)
		}
		out[name] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: read files: %w", err)
	}
	return out, nil
}

// servable leaves out the Go source and the notes kept beside the files.
func servable(name string) bool {
	switch path.Ext(name) {
	case ".go", ".md":
		return false
	}
	return true
}

func version(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(files[n]))
		sum.Write(files[n])
	}
	return hex.EncodeToString(sum.Sum(nil))[:16]
}

func newFile(name string, data []byte) file {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	f := file{contentType: ct, raw: data}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	if buf.Len() < len(data) {
		f.gzipped = buf.Bytes()
	}
	return f
}

func (f file) size(gz bool) int {
	if gz && f.gzipped != nil {
		return len(f.gzipped)
	}
	return len(f.raw)
}

// ServeHTTP serves an asset, index.html for a route of the UI, or 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, wire.CodeBadRequest, "method not allowed")
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/assets/"):
		h.serveAsset(w, r, strings.TrimPrefix(p, "/assets/"))
	case p == "/api" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/auth/"):
		writeError(w, http.StatusNotFound, wire.CodeNotFound, "no such route")
	case path.Ext(p) != "":
		writeError(w, http.StatusNotFound, wire.CodeNotFound, "no such file")
	default:
		hdr.Set("Cache-Control", "no-cache")
		h.serveFile(w, r, h.index)
	}
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	v, name, ok := strings.Cut(rest, "/")
	f, found := h.assets[name]
	if !ok || v != h.version || !found {
		w.Header().Set("Cache-Control", "no-store")
		writeError(w, http.StatusNotFound, wire.CodeNotFound, "no such file")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	h.serveFile(w, r, f)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, f file) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Add("Vary", "Accept-Encoding")
	body := f.raw
	if f.gzipped != nil && acceptsGzip(r) {
		hdr.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, status int, code wire.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.Error{Code: code, Message: msg})
}

// AssetNames lists the served assets, by path below the assets folder.
func (h *Handler) AssetNames() []string {
	names := make([]string, 0, len(h.assets))
	for n := range h.assets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Mount serves the UI on mux at "/": every path that no more specific
// pattern (the API, authentication, health) claims.
func (h *Handler) Mount(mux *http.ServeMux) { mux.Handle("/", h) }
