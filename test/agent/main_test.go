package agent

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

// env is a hub with Flotilla installed and its controller running, and one
// workload cluster, dev-1, whose agent the tests run.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flotilla-agent-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if flotillaBin, err = harness.BuildFlotilla(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err = harness.Start(ctx, harness.Options{
		Bin: flotillaBin, Clusters: 2,
		// The hub marks an agent disconnected soon, for the test to see.
		ControllerArgs: []string{"--agent-timeout", "10s"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the hub:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	defer stopAgent()
	return m.Run()
}
