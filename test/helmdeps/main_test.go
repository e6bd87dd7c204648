// Package helmdeps holds the end-to-end tests of Helm chart dependencies
// (docs/applications.md#chart-dependencies): a chart in Git whose
// dependencies a local Helm repository serves, synced by a real controller
// into a real hub, with its Project deciding which repositories it may
// fetch from.
package helmdeps

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// env is the hub the tests share, with Flotilla installed and its
// controller running; the Applications sync into the hub itself.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run trusts the test servers' certificate as a system root before the
// controller starts, as an operator adds a private repository's CA to the
// controller's image: a dependency's repository gets no credentials of the
// Application (its host is not the Git server's), so no caCert either.
// Every httptest TLS server, internal/helmserver's included, presents the
// same certificate.
func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flotilla-helmdeps-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	roots := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	srv.Close()
	file := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(file, roots, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Setenv("SSL_CERT_FILE", file); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return harness.RunPackage(m, harness.Options{Clusters: 1}, nil, &env)
}
