package e2e

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// TestFleetHostileTemplate: a Fleet whose template would loop for hours
// (nested ranges, ten billion steps) gets a TemplateRefused condition at
// once and generates nothing, and a Fleet created after it is served as
// usual: the hostile template never holds the Fleet reconciler.
func TestFleetHostileTemplate(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet-tmpl")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", regionFiles("1"))
	env.RegisterCluster(t, "tmpl-a", "dev-1", map[string]string{"tmpl": "yes", "region": "eu"})

	fleet := func(name, path string) *flotillav1.Fleet {
		f := &flotillav1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
			Spec: flotillav1.FleetSpec{
				ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tmpl": "yes"}},
				Template: flotillav1.FleetTemplate{
					Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("fleet-tmpl"), TargetRevision: "main", Path: path},
					Destination: flotillav1.FleetDestination{Namespace: "fleet-tmpl"},
				},
			},
		}
		if err := env.Client.Create(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
		return f
	}
	fleet("hostile", "regions/{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}eu")
	time.Sleep(time.Second) // the hostile Fleet is reconciled first
	fleet("calm", `regions/{{ index .Cluster.Labels "region" }}`)

	waitFleetNamed(t, "calm", "served", func(f *flotillav1.Fleet) bool {
		return meta.IsStatusConditionTrue(f.Status.Conditions, flotillav1.ConditionReady) && f.Status.Summary.Clusters == 1
	})
	waitFleetNamed(t, "hostile", "refused", func(f *flotillav1.Fleet) bool {
		c := meta.FindStatusCondition(f.Status.Conditions, flotillav1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == flotillav1.ReasonTemplateRefused
	})
	if app := getApp(t, "calm-tmpl-a"); app == nil || app.Spec.Source.Path != "regions/eu" {
		t.Fatalf("the calm Fleet's Application should exist with path regions/eu: %+v", app)
	}
	if app := getApp(t, "hostile-tmpl-a"); app != nil {
		t.Fatalf("the hostile Fleet generated an Application: %+v", app.Spec.Source)
	}
}
