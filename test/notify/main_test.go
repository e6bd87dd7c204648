// Package notify holds the end-to-end tests of Notifications
// (docs/notifications.md): events of a real controller, routed by Project,
// sent to webhook servers on loopback that record what they receive.
package notify

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// env is the hub the tests share, with Flotilla installed and its
// controller running; the Applications sync into the hub itself.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{Clusters: 1}, nil, &env))
}
