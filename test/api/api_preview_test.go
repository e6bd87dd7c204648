package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

func previewRegions(version string) map[string]string {
	files := map[string]string{}
	for _, region := range []string{"eu", "us"} {
		files["regions/"+region+"/cm.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: region\ndata:\n  region: %s\n  version: %q\n", region, version)
	}
	return files
}

// TestFleetPreview: a preview of a revision shows, per cluster, exactly
// what it would change, with each cluster's own rendering; an object of a
// kind one cluster lacks is that cluster's error; nothing is written.
func TestFleetPreview(t *testing.T) {
	tok := adminToken(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "preview")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", previewRegions("1"))
	env.RegisterCluster(t, "apiprev-1", "dev-1", map[string]string{"apiprev": "yes", "region": "eu"})
	env.RegisterCluster(t, "apiprev-2", "dev-2", map[string]string{"apiprev": "yes", "region": "us"})
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "apiprev", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"apiprev": "yes"}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("preview"), TargetRevision: "main", Path: `regions/{{ index .Cluster.Labels "region" }}`},
				Destination: flotillav1.FleetDestination{Namespace: "apiprev"},
				SyncPolicy: flotillav1.SyncPolicy{Automated: &flotillav1.AutomatedSync{Prune: true}, CreateNamespace: true,
					Interval: harness.Interval(2 * time.Second)},
			},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	env.WaitApp(t, "apiprev-apiprev-1", 2*time.Minute, "synced", harness.Synced)
	env.WaitApp(t, "apiprev-apiprev-2", 2*time.Minute, "synced", harness.Synced)
	dev1, dev2 := workload(t, "dev-1"), workload(t, "dev-2")
	before1 := harness.LiveConfigMap(t, dev1, "apiprev", "region").ResourceVersion
	before2 := harness.LiveConfigMap(t, dev2, "apiprev", "region").ResourceVersion

	// A branch that changes one value.
	next := repo.Commit("next", previewRegions("2"))
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

	// A branch that adds an object of a kind only dev-1 has.
	widgetCRD(t, dev1)
	files := previewRegions("1")
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
	cliExit := func(_ *testing.T, _ string, args ...string) (string, int) {
		out, errOut, code := c.run("", args...)
		return out + errOut, code
	}
	out, code := cliExit(t, tok, "fleet", "preview", "apiprev", "--revision", "next", "-o", "markdown")
	if code != 1 || !strings.Contains(out, "| ` apiprev-1 ` | 0 | 1 | 0 | changes |") || !strings.Contains(out, "<details>") {
		t.Errorf("fleet preview -o markdown: exit %d, output:\n%s", code, out)
	}
	if _, code := cliExit(t, tok, "fleet", "preview", "apiprev", "--revision", "widget"); code != 2 {
		t.Errorf("fleet preview with a cluster in error: exit %d, want 2", code)
	}
	if _, code := cliExit(t, tok, "fleet", "preview", "apiprev"); code != 0 {
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

func workload(t *testing.T, name string) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	c, err := client.New(env.Fleet.Cluster(name).RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// widgetCRD installs example.com's Widget in c, until the test ends.
func widgetCRD(t *testing.T, c client.Client) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTrue()}}}},
		},
	}
	if err := c.Create(context.Background(), crd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), crd) })
}

func ptrTrue() *bool { v := true; return &v }
