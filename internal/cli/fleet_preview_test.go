package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// A preview's Markdown keeps what clusters and repositories say inert: a
// cluster name cannot close its code span or the table, a diff cannot close
// its fence.
func TestFleetPreviewMarkdownIsInert(t *testing.T) {
	p := &wire.FleetPreview{Revision: "4f2a9c1d8e7b", Clusters: []wire.ClusterPreview{
		{Cluster: "eu`|<script>", Revision: "4f2a9c1d8e7b", Resources: []wire.ResourceDiff{{
			ObjectRef: wire.ObjectRef{Kind: "ConfigMap", Namespace: "shop", Name: "cfg"}, Action: wire.DiffUpdate,
			Diff: "-  a: \"```\"\n+  a: \"[x](javascript:alert(1))\"\n",
		}}},
		{Cluster: "us", Error: "no matches for kind \"Widget\"\nin version example.com/v1"},
	}}
	var b strings.Builder
	if err := printFleetPreviewMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "| `` eu`\\|<script> `` | 0 | 1 | 0 | changes |") {
		t.Errorf("the cluster's row is not one inert code span:\n%s", out)
	}
	if !strings.Contains(out, "````diff\n") || !strings.HasSuffix(strings.TrimSpace(out), "````\n\n</details>") && !strings.Contains(out, "\n````\n\n</details>") {
		t.Errorf("the diff holding ``` is not in a longer fence:\n%s", out)
	}
	if !strings.Contains(out, "| ` us ` | 0 | 0 | 0 | error: ` no matches for kind \"Widget\" in version example.com/v1 ` |") {
		t.Errorf("the error row:\n%s", out)
	}
	if e, ok := errors.AsType[*ExitError](previewExit(p)); !ok || e.Code != diffExitError {
		t.Errorf("a preview with a cluster in error exits %v, want %d", e, diffExitError)
	}
}
