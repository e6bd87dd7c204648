package server

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// handlerFunc serves one API route for an authenticated caller; the error
// it returns is answered by writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c Caller) error

// route is one API route: how the mux matches it, what the OpenAPI document
// says of it, and its handler.
type route struct {
	method, path string
	// verb is the RBAC verb it checks, for the document.
	verb    string
	summary string
	// query names the query parameters it reads.
	query []string
	// body and response are samples of the request and response bodies,
	// for the document's schemas; nil for none.
	body, response any
	// status is the status of success (200 when zero).
	status int
	handle handlerFunc
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes is every API route the server serves itself.
func (s *Server) routes() []route {
	var all []route
	all = append(all, s.applicationRoutes()...)
	all = append(all, s.operationRoutes()...)
	all = append(all, s.liveRoutes()...)
	all = append(all, s.clusterRoutes()...)
	all = append(all, s.fleetRoutes()...)
	all = append(all, s.previewRoutes()...)
	all = append(all, s.projectRoutes()...)
	all = append(all, s.streamRoute(), s.openAPIRoute())
	return all
}

// Handler is the whole server: the API, what Access and the Mounts
// register, health, readiness and metrics; each request counted.
func (s *Server) Handler() http.Handler {
	return s.metrics.instrument(secureHeaders(s.recoverPanics(s.mux())))
}

func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern(), s.authenticated(rt.handle))
	}
	s.opts.Access.Register(mux)
	for _, mount := range s.opts.Mounts {
		mount(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", metricsHandler(s.reg))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, errorf(wire.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.Ready() {
		http.Error(w, "informers not synced", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// authenticated runs h for the caller Access finds; a request without valid
// credentials is answered 401 before any handler reads anything.
func (s *Server) authenticated(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.opts.Access.Authenticate(r)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				err = &apiError{Code: wire.CodeUnauthenticated, Message: "authentication required", Err: err}
			}
			writeError(w, r, s.log, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		if err := h(w, r, c); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

// recoverPanics answers 500 for a handler that panicked, and logs it.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.log.Error("handler panicked", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, r, s.log, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders tells browsers not to guess types, frame the API, or send
// referrers.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}
