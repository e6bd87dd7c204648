// Package scale holds the end-to-end tests of Flotilla's guarantees under the
// concurrency of a thousand Applications, against a real local cluster. Its
// figures belong to test/bench; these tests only check what must hold.
package scale

import (
	"fmt"
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flotilla-scale-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if flotillaBin, err = harness.BuildFlotilla(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
