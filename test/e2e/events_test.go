package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestSyncEventOfManyObjects: a sync that creates a hundred objects writes
// its Event: the note counts the changes and names the first few, within
// the API server's 1,024 bytes (a longer one is refused, and the Event lost).
func TestSyncEventOfManyObjects(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("many/cm-%03d.yaml", i)] = fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-configmap-with-a-rather-long-name-%03d\ndata: {i: %q}\n", i, fmt.Sprint(i))
	}
	repo.Commit("main", files)
	newApp(t, "many-objects", harness.PlainApp(srv.URL("fleet"), "many", harness.TestNamespace(t)))
	env.WaitApp(t, "many-objects", 2*time.Minute, "Synced", harness.Synced)
	note := waitSyncEvent(t, "many-objects", "ConfigMap/")
	if len(note) > 1024 {
		t.Errorf("the Event's note is %d bytes", len(note))
	}
	t.Logf("note: %s", note)
}
