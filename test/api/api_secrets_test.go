package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// canarySynced is the value of a Secret an Application syncs.
const canarySynced = "canary-synced-secret-Vx93kP"

const canarySecretManifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: canary\nstringData:\n  value: " + canarySynced + "\n"

// TestAPINeverShowsSecrets: a value of a synced Secret, a repository
// password and a cluster token appear in no API answer nor stream event
// (every answer of this test run is searched), nor in the server's log.
func TestAPINeverShowsSecrets(t *testing.T) {
	tok := adminToken(t)
	ns := harness.TestNamespace(t)
	repo, srv := env.HTTPSRepo(t, "apisecret-creds")
	repo.Commit("main", map[string]string{"app/secret.yaml": canarySecretManifest, "app/cm.yaml": harness.GoodConfigMap})
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: "apisecret-creds"}
	createAPIApp(t, tok, apiApp("apisecret", "", nil, spec))
	env.WaitApp(t, "apisecret", 2*time.Minute, "Synced with the Secret", harness.Synced)
	env.RegisterCluster(t, "apisecret-cl", "dev-1", nil)
	env.CreateSecret(t, "cluster-apisecret-tok", map[string][]byte{"bearerToken": []byte(harness.CanaryToken)})

	st := openStream(t, tok, "", "")
	st.drain(3 * time.Second)
	const app = "/api/v1/applications/flotilla-system/apisecret"
	for _, path := range []string{
		"/api/v1/applications", app, app + "/history", "/api/v1/clusters", "/api/v1/clusters/flotilla-system/apisecret-cl",
		"/api/v1/fleets", "/api/v1/projects", "/api/v1/openapi.json",
	} {
		expect(t, tok, http.MethodGet, path, nil, http.StatusOK, nil)
	}
	expect(t, tok, http.MethodPost, app+"/sync", nil, http.StatusOK, nil)
	expect(t, tok, http.MethodPost, app+"/refresh", nil, http.StatusOK, nil)

	secrets := map[string]string{"synced Secret value": canarySynced, "repository password": harness.CanaryPassword, "cluster token": harness.CanaryToken}
	for what, value := range secretValues(t) {
		secrets[what] = value
	}
	answers := recordedResponses()
	log := api(t).Log()
	for what, value := range secrets {
		if strings.Contains(answers, value) {
			t.Errorf("the %s appears in an API answer", what)
		}
		if strings.Contains(log, value) {
			t.Errorf("the %s appears in the server's log", what)
		}
	}
	if !strings.Contains(answers, "apisecret") {
		t.Fatalf("the recorded answers do not hold the test's own Application: the search proves nothing")
	}
}

// secretValues are the values of every Secret in Flotilla's namespace
// (cluster tokens, repository credentials, the session keys, password
// hashes) but the public certificates.
func secretValues(t *testing.T) map[string]string {
	t.Helper()
	var list corev1.SecretList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{"tls.crt": true, "ca.crt": true, "caData": true, "caCert": true, "username": true}
	out := map[string]string{}
	for _, s := range list.Items {
		for k, v := range s.Data {
			if !public[k] && len(v) >= 12 {
				out["Secret "+s.Name+" key "+k] = string(v)
			}
		}
	}
	return out
}
