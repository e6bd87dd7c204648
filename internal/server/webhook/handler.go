package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Defaults of Options.
const (
	// DefaultSecretName is the Secret, in the controller's namespace, that
	// holds one key per provider (KeyGitHub, KeyGitLab, KeyGitea,
	// KeyBitbucket, KeyOCI).
	DefaultSecretName = "flotilla-webhook"
	// DefaultMaxBodyBytes bounds a webhook's body: GitHub's own limit for a
	// push payload is 25 MB, but the fields read here come first and small
	// pushes are far below 1 MiB; a push of many commits that is larger is
	// refused, and the interval catches it up.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultWindow is how long pushes to one repository are gathered
	// after a flush.
	DefaultWindow = time.Second
	// DefaultSecretTTL is how long the Secret is kept after a read: a
	// changed secret takes effect within it.
	DefaultSecretTTL = 5 * time.Second
)

// Options configure a Handler.
type Options struct {
	// Hub reads the Secret and lists and patches Applications and Fleets.
	Hub client.Client
	// Namespace holds the Secret, the Applications and the Fleets (the
	// controller's namespace).
	Namespace string
	// SecretName defaults to DefaultSecretName.
	SecretName string
	// MaxBodyBytes defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Window defaults to DefaultWindow.
	Window time.Duration
	// SecretTTL defaults to DefaultSecretTTL.
	SecretTTL time.Duration
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// Handler serves POST /api/webhook and POST /api/webhook/oci.
type Handler struct {
	opts      Options
	secrets   *secrets
	coalescer *coalescer
}

// New returns a Handler; Close it to stop its pending refreshes.
func New(opts Options) *Handler {
	if opts.Namespace == "" {
		opts.Namespace = flotillav1.DefaultNamespace
	}
	if opts.SecretName == "" {
		opts.SecretName = DefaultSecretName
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.SecretTTL <= 0 {
		opts.SecretTTL = DefaultSecretTTL
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	h := &Handler{
		opts:    opts,
		secrets: &secrets{hub: opts.Hub, key: client.ObjectKey{Namespace: opts.Namespace, Name: opts.SecretName}, ttl: opts.SecretTTL},
	}
	h.coalescer = newCoalescer(opts.Window, h.refresh)
	return h
}

// Register mounts the two routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/webhook", h.serveGit)
	mux.HandleFunc("POST /api/webhook/oci", h.serveOCI)
}

// Close drops the refreshes not yet started and waits for those running.
func (h *Handler) Close() { h.coalescer.close() }

// serveGit: bound → read → authenticate → parse → queue.
func (h *Handler) serveGit(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	p := providerOf(r.Header)
	if p == nil {
		writeError(w, wire.CodeBadRequest, "not a webhook of a known provider (GitHub, GitLab, Gitea, Forgejo, Gogs, Bitbucket)")
		return
	}
	if !h.authenticated(w, r, func(ctx context.Context) error { return p.authenticate(ctx, h.secrets, r.Header, body) }) {
		return
	}
	parse, ping := p.event(r.Header)
	switch {
	case ping:
		w.WriteHeader(http.StatusOK)
		return
	case parse == nil:
		// Events other than pushes are accepted and ignored, so that a
		// hook sending every event does not fail.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ev, err := parse(body)
	if err != nil {
		writeError(w, wire.CodeBadRequest, p.name+" push: "+err.Error())
		return
	}
	keys := slices.Sorted(maps.Keys(gitKeys(ev)))
	if len(keys) == 0 {
		writeError(w, wire.CodeBadRequest, p.name+" push: no repository URL Flotilla can read")
		return
	}
	h.coalescer.add(strings.Join(keys, " "), work{keys: keys, git: ev})
	w.WriteHeader(http.StatusAccepted)
}

// serveOCI: bound → read → authenticate → parse → queue each repository.
func (h *Handler) serveOCI(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !h.authenticated(w, r, func(ctx context.Context) error {
		secret, err := h.secrets.get(ctx, KeyOCI)
		if err != nil {
			return err
		}
		return verifyToken(secret, strings.TrimSpace(token))
	}) {
		return
	}
	ev, err := parseOCI(body)
	if err != nil {
		writeError(w, wire.CodeBadRequest, "oci push: "+err.Error())
		return
	}
	queued := 0
	for _, repo := range ev.repositories {
		if k := repoKey(repo); k != "" {
			h.coalescer.add(k, work{keys: []string{k}})
			queued++
		}
	}
	if queued == 0 {
		writeError(w, wire.CodeBadRequest, "oci push: no repository Flotilla can read (want oci://host/path)")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// readBody refuses a body over the bound before reading it when its length
// is declared, and as soon as it passes the bound otherwise.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		writeError(w, wire.CodePayloadTooLarge, tooLarge(h.opts.MaxBodyBytes))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, wire.CodePayloadTooLarge, tooLarge(h.opts.MaxBodyBytes))
		return nil, false
	case err != nil:
		writeError(w, wire.CodeBadRequest, "the body could not be read")
		return nil, false
	}
	return body, true
}

func tooLarge(limit int64) string {
	return "the body is larger than " + byteSize(limit)
}

// authenticated runs check and answers 401 or 503 when it fails.
func (h *Handler) authenticated(w http.ResponseWriter, r *http.Request, check func(context.Context) error) bool {
	err := check(r.Context())
	switch {
	case err == nil:
		return true
	case errors.Is(err, errUnauthenticated):
		h.opts.Log.Info("webhook refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", "bad signature or token")
		writeError(w, wire.CodeUnauthenticated, errUnauthenticated.Error())
	default:
		h.opts.Log.Error("webhook secret unreadable", "error", err)
		writeError(w, wire.CodeUnavailable, errSecretUnavailable.Error())
	}
	return false
}

func writeError(w http.ResponseWriter, code wire.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code.Status())
	_ = json.NewEncoder(w).Encode(wire.Error{Code: code, Message: msg})
}

func byteSize(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
