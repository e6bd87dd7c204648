package harness

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// RunPackage is the TestMain of an end-to-end package: it builds the
// flotilla binary into a temporary folder (its path in *bin, when bin is not
// nil), starts a hub with opts when hub is not nil (the hub in *hub), runs
// the package's tests, then runs each of cleanup and stops the hub. It
// returns the exit code for os.Exit.
func RunPackage(m *testing.M, opts Options, bin *string, hub **Hub, cleanup ...func()) int {
	dir, err := os.MkdirTemp("", "flotilla-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	built, err := BuildFlotilla(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if bin != nil {
		*bin = built
	}
	if hub != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		opts.Bin = built
		h, err := Start(ctx, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start the hub:", err)
			return 1
		}
		*hub = h
		defer func() { _ = h.Stop() }()
	}
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	return m.Run()
}
