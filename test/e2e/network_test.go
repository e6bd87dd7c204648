package e2e

import (
	"strings"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestRepositoryAddressRules: a repository on the cloud metadata address is
// refused even by the development controller (--allow-local-repos); with a
// controller not in development mode, a Git repository and a Helm
// repository on loopback, named by IP or by a name resolving to it
// ("localhost"), receive no request at all: the canary password in their
// credentials reaches no server. Each refusal is an AddressRefused
// condition naming the address class.
func TestRepositoryAddressRules(t *testing.T) {
	ns := harness.TestNamespace(t)
	newApp(t, "addr-metadata", harness.PlainApp("http://169.254.169.254/latest/meta-data.git", "app", ns))
	refused(t, "addr-metadata", "link-local")

	// The shared controller runs in development mode: it steps aside for
	// one that does not.
	env.StopController()
	nodev, err := env.StartReplica("nodev", "--allow-local-repos=false")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nodev.Stop()
		if err := env.StartController(); err != nil {
			t.Errorf("restart the shared controller: %v", err)
		}
	})

	repo, gitSrv := env.HTTPSRepo(t, "addr-git-creds")
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	gitApp := harness.PlainApp(gitSrv.URL("fleet"), "app", ns)
	gitApp.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: "addr-git-creds"}
	newApp(t, "addr-loopback-git", gitApp)
	byName := gitApp.DeepCopy()
	byName.Source.RepoURL = strings.Replace(gitSrv.URL("fleet"), "127.0.0.1", "localhost", 1)
	newApp(t, "addr-localhost-git", *byName)

	charts := helmserver.New(t, helmserver.Options{Username: "charts", Password: harness.CanaryPassword})
	charts.AddChart(t, "shop", "0.1.0", shopChart("addr"))
	env.CreateSecret(t, "addr-helm-creds", map[string][]byte{
		"username": []byte("charts"), "password": []byte(harness.CanaryPassword), "caCert": charts.CACert(),
	})
	newApp(t, "addr-loopback-helm", chartApp(charts.URL(), "0.1.0", ns, "addr-helm-creds"))

	for _, name := range []string{"addr-loopback-git", "addr-localhost-git", "addr-loopback-helm"} {
		refused(t, name, "loopback")
	}
	// A few more resyncs, in case one sent anything.
	time.Sleep(3 * time.Second)
	if n := gitSrv.Counts().Requests; n != 0 {
		t.Errorf("the git server on loopback got %d requests", n)
	}
	if got := charts.Requests(); len(got) != 0 {
		t.Errorf("the Helm repository on loopback got requests: %v", got)
	}
	if strings.Contains(nodev.Log(), harness.CanaryPassword) {
		t.Error("the controller's log holds the canary password")
	}
}

// refused waits for the Application's AddressRefused condition and checks
// that it names the address class and holds no credential.
func refused(t *testing.T, name, class string) {
	t.Helper()
	app := env.WaitApp(t, name, 2*time.Minute, "AddressRefused", harness.FailedWith(flotillav1.ReasonAddressRefused))
	msg := harness.ReadyCondition(app).Message
	if !strings.Contains(msg, "is a "+class+" address") || strings.Contains(msg, harness.CanaryPassword) {
		t.Errorf("%s: condition %q does not name the %s class, or holds the canary", name, msg, class)
	}
	t.Logf("%s: %s", name, msg)
}
