package preview

import (
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestDirectFleetPreview: with a kubeconfig and no server, a preview of a
// commit that changes one value shows exactly that change on each
// cluster, in each cluster's own rendering; an object of a kind one
// cluster lacks is that cluster's error; the summary reaches the
// stand-in's commit status with the state of the outcome; no cluster (nor
// the hub) audits a single write of the CLI.
func TestDirectFleetPreview(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "config")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", harness.RegionFiles("1"))
	env.RegionFleet(t, "prev", srv.URL("config"))
	dev1, dev2 := env.ClusterClient(t, "dev-1"), env.ClusterClient(t, "dev-2")
	before1 := harness.LiveConfigMap(t, dev1, "prev", "region").ResourceVersion
	before2 := harness.LiveConfigMap(t, dev2, "prev", "region").ResourceVersion
	clusters := env.Fleet.Clusters
	auditBefore := map[string]localfleet.AuditCounts{}
	for _, c := range clusters {
		auditBefore[c.Name] = audited(t, c)
	}
	c := newCLI(t)
	status := newStatusServer(t)

	// A branch that changes one value: exit 1, each cluster its own change,
	// a GitHub status of success.
	next := repo.Commit("next", harness.RegionFiles("2"))
	p, code := c.previewJSON("fleet", "prev", "--revision", "next",
		"--post-status", "github", "--status-url", status.srv.URL, "--repo", "org/config")
	if code != 1 || len(p.Clusters) != 2 {
		t.Fatalf("fleet preview --revision next: exit %d, %d clusters; want exit 1 and 2 clusters: %+v", code, len(p.Clusters), p)
	}
	for i, region := range []string{"eu", "us"} {
		cp := p.Clusters[i]
		changed := changes(cp)
		if cp.Error != "" || cp.Revision != next || len(changed) != 1 {
			t.Fatalf("cluster %s: %+v; want one change at %s", cp.Cluster, cp, next)
		}
		r := changed[0]
		if r.Kind != "ConfigMap" || r.Action != wire.DiffUpdate || !strings.Contains(r.Diff, `-  version: "1"`) || !strings.Contains(r.Diff, `+  version: "2"`) {
			t.Errorf("cluster %s: %s %s %q; want the ConfigMap's version going from 1 to 2", cp.Cluster, r.Kind, r.Action, r.Diff)
		}
		if !strings.Contains(r.Live, "region: "+region) || strings.Contains(r.Diff+r.Desired, "region: "+map[string]string{"eu": "us", "us": "eu"}[region]) {
			t.Errorf("cluster %s does not show its own region's rendering: %q", cp.Cluster, r.Desired)
		}
	}
	got := status.requests()
	want := statusRequest{Method: "POST", Path: "/repos/org/config/statuses/" + next, Auth: "Bearer " + statusToken, Body: map[string]string{
		"state": "success", "context": "flotilla/preview/prev",
		"description": "2 clusters: 2 would change, 0 unchanged, 0 in error (0 to create, 2 to update, 0 to delete)",
	}}
	if len(got) != 1 || !equalStatus(got[0], want) {
		t.Errorf("the stand-in received %+v; want one %+v", got, want)
	}

	// A branch that adds a Widget, a kind only dev-1 has: exit 2, dev-2's
	// error names the kind, a Gitea status of failure.
	harness.WidgetCRD(t, dev1)
	files := harness.RegionFiles("1")
	files["regions/eu/widget.yaml"] = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"
	files["regions/us/widget.yaml"] = files["regions/eu/widget.yaml"]
	widget := repo.Commit("widget", files)
	deadline := time.Now().Add(time.Minute)
	for {
		p, code = c.previewJSON("fleet", "prev", "--revision", widget,
			"--post-status", "gitea", "--status-url", status.srv.URL, "--repo", "org/config", "--sha", widget)
		if p.Clusters[0].Error == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second) // dev-1's API server has yet to serve the new kind
	}
	if code != 2 || len(changes(p.Clusters[0])) != 1 || p.Clusters[0].Error != "" {
		t.Errorf("exit %d, cluster prev-1: %+v; want exit 2 and the Widget to be created", code, p.Clusters[0])
	}
	if cp := p.Clusters[1]; !strings.Contains(cp.Error, "Widget") {
		t.Errorf("cluster prev-2: error %q; want it to name the kind it lacks", cp.Error)
	}
	got = status.requests()
	last := got[len(got)-1]
	if last.Method != "POST" || last.Path != "/api/v1/repos/org/config/statuses/"+widget || last.Auth != "token "+statusToken ||
		last.Body["state"] != "failure" || last.Body["context"] != "flotilla/preview/prev" ||
		!strings.HasPrefix(last.Body["description"], "2 clusters: 1 would change, 0 unchanged, 1 in error (1 to create, 0 to update, 0 to delete); prev-2: ") ||
		len(last.Body["description"]) > 140 {
		t.Errorf("the stand-in's last request: %+v; want Gitea's failure naming prev-2, within 140 bytes", last)
	}

	// Markdown for a pull request, and what runs: exit 0.
	out, errOut, code := c.preview("fleet", "prev", "--revision", "next", "-o", "markdown")
	if code != 1 || !strings.Contains(out, "| ` prev-1 ` | 0 | 1 | 0 | changes |") || !strings.Contains(out, "<details>") {
		t.Errorf("fleet preview -o markdown: exit %d, output:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := c.preview("fleet", "prev"); code != 0 {
		t.Errorf("fleet preview of what runs: exit %d\n%s%s", code, out, errOut)
	}

	// Nothing was written, and the CLI did reach every workload cluster.
	for _, cl := range clusters {
		after := audited(t, cl)
		if after.Writes != auditBefore[cl.Name].Writes {
			t.Errorf("cluster %s audited %d writes of the CLI", cl.Name, after.Writes-auditBefore[cl.Name].Writes)
		}
		if cl.Name != clusters[0].Name && after.DryRuns == auditBefore[cl.Name].DryRuns {
			t.Errorf("cluster %s audited no dry-run of the CLI: the count of its writes proves nothing", cl.Name)
		}
	}
	if rv := harness.LiveConfigMap(t, dev1, "prev", "region").ResourceVersion; rv != before1 {
		t.Errorf("dev-1's ConfigMap changed (resourceVersion %s, was %s)", rv, before1)
	}
	if rv := harness.LiveConfigMap(t, dev2, "prev", "region").ResourceVersion; rv != before2 {
		t.Errorf("dev-2's ConfigMap changed (resourceVersion %s, was %s)", rv, before2)
	}
}

func equalStatus(a, b statusRequest) bool {
	if a.Method != b.Method || a.Path != b.Path || a.Auth != b.Auth || len(a.Body) != len(b.Body) {
		return false
	}
	for k, v := range b.Body {
		if a.Body[k] != v {
			return false
		}
	}
	return true
}
