package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestAPIClusters: a cluster registered through the API from a kubeconfig
// (Flotilla's ServiceAccount is made in it) or from a server, a token and
// a CA is listed and got, without its token; removing it removes its
// credentials Secret; a kubeconfig that runs a program is refused.
func TestAPIClusters(t *testing.T) {
	tok := adminToken(t)
	target := env.Fleet.Cluster("dev-3")

	var fromKubeconfig flotillav1.Cluster
	body := expect(t, tok, http.MethodPost, "/api/v1/clusters", wire.ClusterRegistration{
		Name: "apicl-kc", Labels: map[string]string{"apicl": "yes"}, Kubeconfig: string(env.KubeconfigFor(t, "dev-3")),
	}, http.StatusCreated, &fromKubeconfig)
	t.Cleanup(func() { _, _ = call(t, tok, http.MethodDelete, "/api/v1/clusters/flotilla-system/apicl-kc", nil) })
	managerToken := env.RegisteredToken(t, "apicl-kc")
	if strings.Contains(string(body), managerToken) {
		t.Errorf("the registration answer holds the cluster's token")
	}

	ca := base64.StdEncoding.EncodeToString(clusterSecret(t, "apicl-kc").Data["caData"])
	expect(t, tok, http.MethodPost, "/api/v1/clusters", wire.ClusterRegistration{
		Name: "apicl-token", Labels: map[string]string{"apicl": "yes"}, Server: target.Server, BearerToken: managerToken, CAData: ca,
	}, http.StatusCreated, nil)
	if got := string(clusterSecret(t, "apicl-token").Data["bearerToken"]); got != managerToken {
		t.Errorf("the token registration wrote another token")
	}
	status, body := call(t, tok, http.MethodPost, "/api/v1/clusters", wire.ClusterRegistration{
		Name: "apicl-bad", Server: target.Server, BearerToken: "not-the-token-Qx81", CAData: ca,
	})
	if status != http.StatusBadRequest || strings.Contains(string(body), "not-the-token-Qx81") {
		t.Errorf("a refused token: %d %s, want 400 without the token", status, body)
	}
	assertNoCluster(t, "apicl-bad")
	exec := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n" +
		"users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}}]\n" +
		"contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
	expect(t, tok, http.MethodPost, "/api/v1/clusters", wire.ClusterRegistration{Name: "apicl-exec", Kubeconfig: exec}, http.StatusBadRequest, nil)

	var l wire.List[flotillav1.Cluster]
	eventually(t, "both clusters listed", func() bool {
		expect(t, tok, http.MethodGet, "/api/v1/clusters?selector=apicl%3Dyes", nil, http.StatusOK, &l)
		return l.Total == 2
	})
	var got flotillav1.Cluster
	expect(t, tok, http.MethodGet, "/api/v1/clusters/flotilla-system/apicl-token", nil, http.StatusOK, &got)
	if got.Spec.Server != target.Server || got.Labels["apicl"] != "yes" {
		t.Errorf("got %+v", got)
	}
	for _, name := range []string{"apicl-kc", "apicl-token"} {
		expect(t, tok, http.MethodDelete, "/api/v1/clusters/flotilla-system/"+name, nil, http.StatusOK, nil)
		assertNoCluster(t, name)
	}
	expect(t, tok, http.MethodDelete, "/api/v1/clusters/flotilla-system/apicl-token", nil, http.StatusNotFound, nil)
}

func clusterSecret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "cluster-" + name}, &s); err != nil {
		t.Fatalf("credentials Secret of %s: %v", name, err)
	}
	return &s
}

// assertNoCluster checks that neither the Cluster nor its Secret exists.
func assertNoCluster(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}
	if err := env.Client.Get(ctx, key, &flotillav1.Cluster{}); !apierrors.IsNotFound(err) {
		t.Errorf("Cluster %s exists (err=%v)", name, err)
	}
	key.Name = "cluster-" + name
	if err := env.Client.Get(ctx, key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("Secret %s exists (err=%v)", key.Name, err)
	}
}

// TestAPIFleets: a Fleet is listed and got with one entry per cluster it
// generated an Application for; its rollout is paused and resumed by whom
// fleets:rollout allows, and promote and retry say when there is nothing to
// do.
func TestAPIFleets(t *testing.T) {
	tok := adminToken(t)
	apiProject(t, tok, "apifleet", []flotillav1.ProjectRole{
		{Name: "viewer", Groups: []string{"apifleet-viewers"}, Policies: []string{"fleets:get"}},
	})
	env.RegisterCluster(t, "apifleet-1", "dev-1", map[string]string{"apifleet": "yes"})
	env.RegisterCluster(t, "apifleet-2", "dev-2", map[string]string{"apifleet": "yes"})
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "apifleet", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			Project:         "apifleet",
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"apifleet": "yes"}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: "https://git.invalid/fleet.git", TargetRevision: "main", Path: "app"},
				Destination: flotillav1.FleetDestination{Namespace: "apifleet-ns"},
				SyncPolicy:  flotillav1.SyncPolicy{Interval: harness.Interval(time.Hour)},
			},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })

	var detail struct {
		flotillav1.Fleet `json:",inline"`
		Clusters         []wire.FleetCluster `json:"clusters"`
	}
	eventually(t, "the fleet shows its two clusters", func() bool {
		// The server reads Fleets from its informer, which sees the new
		// one a moment after the hub does: 404 until then.
		code, body := call(t, tok, http.MethodGet, "/api/v1/fleets/flotilla-system/apifleet", nil)
		return code == http.StatusOK && json.Unmarshal(body, &detail) == nil && len(detail.Clusters) == 2
	})
	if c := detail.Clusters[0]; c.Cluster != "apifleet-1" || c.Application != "apifleet-apifleet-1" || c.Sync == "" || c.Health == "" {
		t.Errorf("first cluster entry %+v", c)
	}
	if detail.Name != "apifleet" || detail.Spec.ClusterSelector == nil {
		t.Errorf("the Fleet itself is missing from the answer: %+v", detail.ObjectMeta)
	}
	var l wire.List[flotillav1.Fleet]
	expect(t, tok, http.MethodGet, "/api/v1/fleets?search=apifleet", nil, http.StatusOK, &l)
	if l.Total != 1 {
		t.Errorf("fleets?search=apifleet: total %d, want 1", l.Total)
	}
	expect(t, tok, http.MethodGet, "/api/v1/fleets?project=nope", nil, http.StatusOK, &l)
	for _, fl := range l.Items {
		if fl.Name == "apifleet" {
			t.Errorf("fleets?project=nope lists apifleet")
		}
	}

	// Pause and resume.
	const fleetPath = "/api/v1/fleets/flotilla-system/apifleet"
	viewer := addAccount(t, "apifleet-viewer", "apifleet-viewers")
	expect(t, viewer, http.MethodGet, fleetPath, nil, http.StatusOK, nil)
	expect(t, viewer, http.MethodPost, fleetPath+"/pause", nil, http.StatusForbidden, nil)
	expect(t, tok, http.MethodPost, fleetPath+"/pause", nil, http.StatusOK, nil)
	if got := hubFleet(t); got.Spec.Rollout == nil || !got.Spec.Rollout.Paused {
		t.Errorf("after pause: spec.rollout %+v, want paused", got.Spec.Rollout)
	}
	expect(t, tok, http.MethodPost, fleetPath+"/resume", nil, http.StatusOK, nil)
	if got := hubFleet(t); got.Spec.Rollout == nil || got.Spec.Rollout.Paused {
		t.Errorf("after resume: spec.rollout %+v, want not paused", got.Spec.Rollout)
	}
	// Nothing bakes and nothing failed: promote and retry say so.
	body := expect(t, tok, http.MethodPost, fleetPath+"/promote", nil, http.StatusConflict, nil)
	if e := errorOf(t, body); !strings.Contains(e.Message, "nothing to promote") {
		t.Errorf("promote with no wave baking: %q", e.Message)
	}
	expect(t, tok, http.MethodPost, fleetPath+"/retry", nil, http.StatusConflict, nil)
	if a := hubFleet(t).Annotations; a[flotillav1.PromoteAnnotation] != "" || a[flotillav1.RetryRolloutAnnotation] != "" {
		t.Errorf("a refused promote or retry annotated the Fleet: %v", a)
	}
}

func hubFleet(t *testing.T) *flotillav1.Fleet {
	t.Helper()
	f := &flotillav1.Fleet{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "apifleet"}, f); err != nil {
		t.Fatal(err)
	}
	return f
}
