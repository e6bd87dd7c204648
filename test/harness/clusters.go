package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ClusterClient is a client of the fleet's cluster name, reading the
// built-in kinds and CustomResourceDefinitions.
func (h *Hub) ClusterClient(t *testing.T, name string) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(h.Fleet.Cluster(name).RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// WidgetCRD installs example.com's Widget (v1, namespaced, any fields) in
// the cluster of c until the test ends: a kind one cluster of a fleet has
// and another lacks.
func WidgetCRD(t *testing.T, c client.Client) {
	t.Helper()
	keep := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &keep,
				}},
			}},
		},
	}
	if err := c.Create(context.Background(), crd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), crd) })
}

// RegionFiles is a repository of two folders, regions/eu and regions/us,
// each a ConfigMap "region" naming its region and version: what a Fleet
// whose path follows a cluster's region label renders differently on each.
func RegionFiles(version string) map[string]string {
	files := map[string]string{}
	for _, region := range []string{"eu", "us"} {
		files["regions/"+region+"/cm.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: region\ndata:\n  region: %s\n  version: %q\n", region, version)
	}
	return files
}

// RegionFleet registers dev-1 (region eu) and dev-2 (region us) as the
// Clusters name-1 and name-2, labelled name=yes, and creates the Fleet name
// over them from regions/<region> of repoURL into the namespace name; it
// returns once both Applications are Synced. All of it goes when the test
// ends.
func (h *Hub) RegionFleet(t *testing.T, name, repoURL string) *flotillav1.Fleet {
	t.Helper()
	h.RegisterCluster(t, name+"-1", "dev-1", map[string]string{name: "yes", "region": "eu"})
	h.RegisterCluster(t, name+"-2", "dev-2", map[string]string{name: "yes", "region": "us"})
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{name: "yes"}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: repoURL, TargetRevision: "main", Path: `regions/{{ index .Cluster.Labels "region" }}`},
				Destination: flotillav1.FleetDestination{Namespace: name},
				SyncPolicy: flotillav1.SyncPolicy{Automated: &flotillav1.AutomatedSync{Prune: true}, CreateNamespace: true,
					Interval: Interval(2 * time.Second)},
			},
		},
	}
	if err := h.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Client.Delete(context.Background(), f) })
	h.WaitApp(t, name+"-"+name+"-1", 2*time.Minute, "synced", Synced)
	h.WaitApp(t, name+"-"+name+"-2", 2*time.Minute, "synced", Synced)
	return f
}
