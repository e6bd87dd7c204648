package server

import "net/http"

// registerExternalForTest stands in for the packages the server mounts
// until they are wired: it registers their documented routes.
func registerExternalForTest(mux *http.ServeMux) {
	for _, rt := range externalRoutes {
		switch rt.path {
		case "/healthz", "/readyz", "/metrics":
			continue
		}
		mux.HandleFunc(rt.pattern(), func(http.ResponseWriter, *http.Request) {})
	}
}
