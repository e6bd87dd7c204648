package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestFleetPreview: a preview of a revision shows, per cluster, exactly
// what it would change, with each cluster's own rendering; an object of a
// kind one cluster lacks is that cluster's error; nothing is written.
func TestFleetPreview(t *testing.T) {
	tok := adminToken(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "preview")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", harness.RegionFiles("1"))
	env.RegionFleet(t, "apiprev", srv.URL("preview"))
	dev1, dev2 := env.ClusterClient(t, "dev-1"), env.ClusterClient(t, "dev-2")
	before1 := harness.LiveConfigMap(t, dev1, "apiprev", "region").ResourceVersion
	before2 := harness.LiveConfigMap(t, dev2, "apiprev", "region").ResourceVersion

	// A branch that changes one value.
	next := repo.Commit("next", harness.RegionFiles("2"))
	var p wire.FleetPreview
	eventually(t, "the preview lists both clusters", func() bool {
		code, body := call(t, tok, http.MethodPost, "/api/v1/fleets/flotilla-system/apiprev/preview", wire.PreviewRequest{Revision: "next"})
		return code == http.StatusOK && jsonInto(body, &p) && len(p.Clusters) == 2
	})
	for i, region := range []string{"eu", "us"} {
		c := p.Clusters[i]
		changed := changes(c)
		if c.Error != "" || c.Revision != next || len(changed) != 1 {
			t.Fatalf("cluster %s: %+v; want one change at %s", c.Cluster, c, next)
		}
		r := changed[0]
		if r.Kind != "ConfigMap" || r.Action != wire.DiffUpdate || !strings.Contains(r.Diff, `-  version: "1"`) || !strings.Contains(r.Diff, `+  version: "2"`) {
			t.Errorf("cluster %s: %s %s %q; want the ConfigMap's version going from 1 to 2", c.Cluster, r.Kind, r.Action, r.Diff)
		}
		if strings.Contains(r.Diff, "region: "+map[string]string{"eu": "us", "us": "eu"}[region]) {
			t.Errorf("cluster %s shows the other region's rendering: %q", c.Cluster, r.Diff)
		}
	}

	// One Application of the Fleet: the same preview of its one cluster,
	// through the API and `app preview`.
	var ap wire.FleetPreview
	code, body := call(t, tok, http.MethodPost, "/api/v1/applications/flotilla-system/apiprev-apiprev-2/preview", wire.PreviewRequest{Revision: "next"})
	if code != http.StatusOK || !jsonInto(body, &ap) || len(ap.Clusters) != 1 || ap.Clusters[0].Cluster != "apiprev-2" ||
		ap.Clusters[0].Revision != next || len(changes(ap.Clusters[0])) != 1 {
		t.Errorf("application preview: HTTP %d %s; want apiprev-2's one change at %s", code, body, next)
	}

	// A branch that adds an object of a kind only dev-1 has.
	harness.WidgetCRD(t, dev1)
	files := harness.RegionFiles("1")
	files["regions/eu/widget.yaml"] = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"
	files["regions/us/widget.yaml"] = files["regions/eu/widget.yaml"]
	repo.Commit("widget", files)
	eventually(t, "a preview that knows Widget on dev-1", func() bool {
		code, body := call(t, tok, http.MethodPost, "/api/v1/fleets/flotilla-system/apiprev/preview", wire.PreviewRequest{Revision: "widget"})
		return code == http.StatusOK && jsonInto(body, &p) && len(p.Clusters) == 2 && p.Clusters[0].Error == ""
	})
	if c := p.Clusters[0]; len(changes(c)) != 1 || !hasAction(c, "Widget", wire.DiffCreate) {
		t.Errorf("cluster apiprev-1: %+v; want the Widget to be created", c)
	}
	if c := p.Clusters[1]; !strings.Contains(c.Error, "Widget") {
		t.Errorf("cluster apiprev-2: error %q; want it to name the kind it lacks", c.Error)
	}

	// The CLI: exit 1 when something would change, a Markdown summary.
	c := loggedInCLI(t)
	cliExit := func(args ...string) (string, int) {
		out, errOut, code := c.run("", args...)
		return out + errOut, code
	}
	out, code := cliExit("fleet", "preview", "apiprev", "--revision", "next", "-o", "markdown")
	if code != 1 || !strings.Contains(out, "| ` apiprev-1 ` | 0 | 1 | 0 | changes |") || !strings.Contains(out, "<details>") {
		t.Errorf("fleet preview -o markdown: exit %d, output:\n%s", code, out)
	}
	if _, code := cliExit("fleet", "preview", "apiprev", "--revision", "widget"); code != 2 {
		t.Errorf("fleet preview with a cluster in error: exit %d, want 2", code)
	}
	if out, code := cliExit("app", "preview", "apiprev-apiprev-2", "--revision", "next"); code != 1 ||
		!strings.Contains(out, "apiprev-2") || !strings.Contains(out, "0 to create, 1 to update, 0 to delete") {
		t.Errorf("app preview: exit %d, output:\n%s", code, out)
	}
	if _, code := cliExit("fleet", "preview", "apiprev"); code != 0 {
		t.Errorf("fleet preview of what runs: exit %d, want 0", code)
	}

	// Nothing was written.
	if rv := harness.LiveConfigMap(t, dev1, "apiprev", "region").ResourceVersion; rv != before1 {
		t.Errorf("dev-1's ConfigMap changed (resourceVersion %s, was %s)", rv, before1)
	}
	if rv := harness.LiveConfigMap(t, dev2, "apiprev", "region").ResourceVersion; rv != before2 {
		t.Errorf("dev-2's ConfigMap changed (resourceVersion %s, was %s)", rv, before2)
	}
}

// loggedInCLI is the flotilla CLI logged in to the API server as admin.
func loggedInCLI(t *testing.T) *cli {
	t.Helper()
	srv := api(t)
	c := &cli{t: t, config: filepath.Join(t.TempDir(), "flotilla", "config.yaml")}
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, serverCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("Logged in", "login", srv.URL, "--username", "admin", "--password", initialAdminPassword(), "--certificate-authority", ca)
	return c
}

// jsonInto decodes body into v and says whether it could.
func jsonInto(body []byte, v any) bool { return json.Unmarshal(body, v) == nil }

// changes are the objects a preview would create, update or delete.
func changes(c wire.ClusterPreview) []wire.ResourceDiff {
	var out []wire.ResourceDiff
	for _, r := range c.Resources {
		if r.Action != wire.DiffNone && r.Action != "" {
			out = append(out, r)
		}
	}
	return out
}

func hasAction(c wire.ClusterPreview, kind string, action wire.DiffAction) bool {
	for _, r := range c.Resources {
		if r.Kind == kind && r.Action == action {
			return true
		}
	}
	return false
}
