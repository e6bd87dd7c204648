// Package preview holds the end-to-end tests of `flotilla fleet preview`
// and `flotilla app preview` without a server (docs/preview.md): the CLI
// reads the hub with a kubeconfig and previews a commit of a real git
// server on real workload clusters, in its own process, and posts the
// summary as a commit status to a stand-in of GitHub and Gitea on
// loopback. Every API server audits its writes, so that a test can prove
// the preview wrote nothing.
package preview

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

// env is the hub, with Flotilla installed and its controller running, and
// two workload clusters, dev-1 and dev-2.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{Clusters: 3, AuditWrites: true}, &flotillaBin, &env))
}
