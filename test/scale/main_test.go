// Package scale holds the end-to-end tests of Flotilla's guarantees under the
// concurrency of a thousand Applications, against a real local cluster. Its
// figures belong to test/bench; these tests only check what must hold.
package scale

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{}, &flotillaBin, nil))
}
