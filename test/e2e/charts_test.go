package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/internal/ociserver"
	"github.com/flotilla-dev/flotilla/internal/signtest"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// shopChart is helmChart's chart alone, as its archive holds it, with its
// CRD in the API group <group>.flotilla.dev: a CRD is the cluster's, and
// each test's Application owns its own.
func shopChart(group string) map[string]string {
	out := map[string]string{}
	for path, content := range helmChart() {
		if rel, ok := strings.CutPrefix(path, "charts/shop/"); ok {
			out[rel] = strings.ReplaceAll(content, "e2e-helm.flotilla.dev", group+".flotilla.dev")
		}
	}
	return out
}

// chartApp is an Application of the chart shop from a repository.
func chartApp(url, version, ns, secret string) flotillav1.ApplicationSpec {
	spec := harness.PlainApp(url, "", ns)
	spec.Source.Chart = "shop"
	spec.Source.TargetRevision = version
	spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: secret}
	spec.Source.Helm = &flotillav1.HelmSource{ReleaseName: "shop", Values: &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount": 1}`)}}
	return spec
}

// TestHelmChartFromRepository: a chart from an HTTP Helm repository with
// basic auth, by a version range, syncs and becomes Healthy; a values
// change writes only the Deployment.
func TestHelmChartFromRepository(t *testing.T) {
	ns := harness.TestNamespace(t)
	repo := helmserver.New(t, helmserver.Options{Username: "charts", Password: harness.CanaryPassword})
	repo.AddChart(t, "shop", "0.1.0", shopChart("e2e-helm-repo"))
	env.CreateSecret(t, "helm-repo-creds", map[string][]byte{
		"username": []byte("charts"), "password": []byte(harness.CanaryPassword), "caCert": repo.CACert(),
	})
	newApp(t, "helm-repo-shop", chartApp(repo.URL(), "~0.1", ns, "helm-repo-creds"))
	assertChartSyncs(t, "helm-repo-shop", ns, "0.1.0@sha256:")
}

// TestHelmChartFromOCI: the same chart from an OCI registry, signed with
// cosign and verified.
func TestHelmChartFromOCI(t *testing.T) {
	ns := harness.TestNamespace(t)
	reg := ociserver.New(t, ociserver.Options{Username: "charts", Password: harness.CanaryPassword})
	digest := reg.PushChart(t, "charts", "shop", "0.1.0", shopChart("e2e-helm-oci"))
	key, pub := signtest.NewCosignKey(t)
	signtest.CosignSign(t, signtest.Registry{Host: reg.Host(), CACert: reg.CACert(), Username: "charts", Password: harness.CanaryPassword}, "charts/shop", digest, key)
	env.CreateSecret(t, "oci-chart-creds", map[string][]byte{
		"username": []byte("charts"), "password": []byte(harness.CanaryPassword), "caCert": reg.CACert(),
	})
	env.CreateSecret(t, "oci-chart-keys", map[string][]byte{"cosign.pub": pub})
	spec := chartApp(reg.URL("charts"), "0.1.0", ns, "oci-chart-creds")
	spec.Source.Verify = &flotillav1.Verification{Provider: "cosign", SecretRef: flotillav1.LocalObjectReference{Name: "oci-chart-keys"}}
	newApp(t, "oci-shop", spec)
	assertChartSyncs(t, "oci-shop", ns, "0.1.0@"+digest)
}

// assertChartSyncs waits for the shop chart's Application to be Synced and
// Healthy at a revision starting with revPrefix, then changes a value and
// checks that only the Deployment was written.
func assertChartSyncs(t *testing.T, name, ns, revPrefix string) {
	t.Helper()
	app := env.WaitApp(t, name, 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	if !strings.HasPrefix(app.Status.Sync.Revision, revPrefix) {
		t.Errorf("revision %q, want the chart version and its digest (%s…)", app.Status.Sync.Revision, revPrefix)
	}
	waitDeployment(t, env.Client, ns, "shop-web", 1)
	if v := configMapValue(t, ns, "shop-config", "greeting"); v != "hello" {
		t.Errorf("greeting %q, want the chart's default hello", v)
	}
	assertValuesChangeWritesDeploymentOnly(t, name, ns)
}

// TestFleetOfOCIChart: a Fleet deploys a chart of an OCI registry to two
// clusters, pinning each Application to the chart's version and digest; a
// new version in the range reaches both.
func TestFleetOfOCIChart(t *testing.T) {
	reg := registry(t, "fleet-chart-creds")
	chart := func(version string) map[string]string {
		return map[string]string{
			"Chart.yaml":          "apiVersion: v2\nname: notes\nversion: " + version + "\n",
			"templates/note.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\ndata:\n  version: {{ .Chart.Version | quote }}\n",
		}
	}
	first := reg.PushChart(t, "charts", "notes", "1.0.0", chart("1.0.0"))
	env.RegisterCluster(t, "ocifleet-a", "dev-1", map[string]string{"oci-fleet": "yes"})
	env.RegisterCluster(t, "ocifleet-b", "dev-2", map[string]string{"oci-fleet": "yes"})
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "notes", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"oci-fleet": "yes"}},
			Template: flotillav1.FleetTemplate{
				Source: flotillav1.ApplicationSource{
					RepoURL: reg.URL("charts"), Chart: "notes", TargetRevision: "^1.0.0",
					CredentialsRef: &flotillav1.LocalObjectReference{Name: "fleet-chart-creds"},
				},
				Destination: flotillav1.FleetDestination{Namespace: "fleet-notes"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated: &flotillav1.AutomatedSync{Prune: true}, CreateNamespace: true,
					Interval: harness.Interval(2 * time.Second),
				},
			},
			Rollout: &flotillav1.Rollout{MaxParallel: "1"},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	waitFleetNamed(t, "notes", "both clusters synced", func(f *flotillav1.Fleet) bool {
		return f.Status.Summary.Clusters == 2 && f.Status.Summary.Synced == 2
	})
	for _, name := range []string{"notes-ocifleet-a", "notes-ocifleet-b"} {
		if app := getApp(t, name); app == nil || app.Spec.Source.TargetRevision != "1.0.0@"+first || app.Status.Sync.Revision != "1.0.0@"+first {
			t.Errorf("%s should be pinned to and synced at 1.0.0@%s: %+v", name, first, app)
		}
	}

	second := reg.PushChart(t, "charts", "notes", "1.1.0", chart("1.1.0"))
	waitFleetNamed(t, "notes", "both clusters at 1.1.0", func(*flotillav1.Fleet) bool {
		for _, name := range []string{"notes-ocifleet-a", "notes-ocifleet-b"} {
			app := getApp(t, name)
			if app == nil || app.Status.Sync.Revision != "1.1.0@"+second || !harness.Synced(app) {
				return false
			}
		}
		return true
	})
	for _, cluster := range []string{"dev-1", "dev-2"} {
		c, err := client.New(env.Fleet.Cluster(cluster).RESTConfig(), client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var cm corev1.ConfigMap
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "fleet-notes", Name: "note"}, &cm); err != nil || cm.Data["version"] != "1.1.0" {
			t.Errorf("%s: ConfigMap fleet-notes/note %v (err %v), want version 1.1.0", cluster, cm.Data, err)
		}
	}
}
