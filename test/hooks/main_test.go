// Package hooks holds the end-to-end tests of sync phases, waves and hooks
// (docs/hooks.md) against a real hub whose Jobs really run and complete (or
// fail) on kwok's node.
package hooks

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// env is the hub the tests share, with Flotilla installed and its
// controller running; the Applications sync into the hub itself.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{Clusters: 1, ControllerArgs: []string{"--sync-timeout=2m"}}, nil, &env))
}
