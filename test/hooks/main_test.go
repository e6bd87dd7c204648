// Package hooks holds the end-to-end tests of sync phases, waves and hooks
// (docs/hooks.md) against a real hub whose Jobs really run and complete (or
// fail) on kwok's node.
package hooks

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// env is the hub the tests share, with Flotilla installed and its
// controller running; the Applications sync into the hub itself.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flotilla-hooks-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin, err := harness.BuildFlotilla(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err = harness.Start(ctx, harness.Options{Bin: bin, Clusters: 1, ControllerArgs: []string{"--sync-timeout=2m"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the hub:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	return m.Run()
}
