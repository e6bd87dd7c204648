// Package importer holds the end-to-end tests of `flotilla import`: what it
// writes from Argo CD and Flux objects syncs on a real local cluster.
package importer

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

var (
	flotillaBin string
	env         *harness.Hub
)

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{Lean: true}, &flotillaBin, &env))
}
