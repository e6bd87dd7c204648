package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// tokenRepo serves a repository over https that takes canaryToken: a host
// that would gladly receive it, and counts every request that reaches it.
// Its CA is given as the Secrets' caCert, as the system's roots would
// trust any public host.
func tokenRepo(t *testing.T) *gitserver.HTTP {
	t.Helper()
	root := t.TempDir()
	gitserver.NewRepo(t, root, "repo").Commit("main", map[string]string{"cm.yaml": harness.GoodConfigMap})
	return gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, BearerToken: harness.CanaryToken, TLS: true})
}

// createLabelledSecret is createSecret with labels.
func createLabelledSecret(t *testing.T, name string, labels map[string]string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace, Labels: labels},
		Data:       data,
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatalf("create Secret %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), s) })
}

func createProject(t *testing.T, name string, spec flotillav1.ProjectSpec) {
	t.Helper()
	p := &flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace}, Spec: spec}
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatalf("create Project %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
}

// assertNoRequest fails when anything reached srv.
func assertNoRequest(t *testing.T, srv *gitserver.HTTP, what string) {
	t.Helper()
	if n := srv.Counts().Requests; n != 0 {
		t.Errorf("%s: %d requests reached the repository, want none", what, n)
	}
}

// conditionSays holds when the Application's Ready condition is False with
// reason and its message contains every one of words.
func conditionSays(reason string, words ...string) func(*flotillav1.Application) bool {
	return func(a *flotillav1.Application) bool {
		if !harness.FailedWith(reason)(a) {
			return false
		}
		for _, w := range words {
			if !strings.Contains(harness.ReadyCondition(a).Message, w) {
				return false
			}
		}
		return true
	}
}

// TestFleetSourceOutsideProject: a Fleet of Project team-f whose template
// names a repository outside team-f's sourceRepos sends no request (and so
// not its token) there, even for the rollout's revision resolve, and shows
// ProjectViolation naming sourceRepos; it generates no Application.
func TestFleetSourceOutsideProject(t *testing.T) {
	srv := tokenRepo(t)
	createProject(t, "team-f", flotillav1.ProjectSpec{
		SourceRepos:  []string{"https://git.example.com/team-f/*"},
		Destinations: []flotillav1.ProjectDestination{{Cluster: "*", Namespace: "team-f-*"}},
		Secrets:      []string{"team-f-*"},
	})
	env.CreateSecret(t, "team-f-creds", map[string][]byte{"bearerToken": []byte(harness.CanaryToken), "caCert": srv.CACert()})
	env.RegisterCluster(t, "tenancy-f", "dev-1", map[string]string{"tenancy-fleet": "yes"})
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "outside", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			Project:         "team-f",
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tenancy-fleet": "yes"}},
			Template: flotillav1.FleetTemplate{
				Source: flotillav1.ApplicationSource{
					RepoURL: srv.URL("repo"), TargetRevision: "main", Path: ".",
					CredentialsRef: &flotillav1.LocalObjectReference{Name: "team-f-creds"},
				},
				Destination: flotillav1.FleetDestination{Namespace: "team-f-web"},
				SyncPolicy:  flotillav1.SyncPolicy{Automated: &flotillav1.AutomatedSync{}, Interval: harness.Interval(2 * time.Second)},
			},
			Rollout: &flotillav1.Rollout{MaxParallel: "1"},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	waitFleetNamed(t, "outside", "ProjectViolation naming sourceRepos", func(f *flotillav1.Fleet) bool {
		c := meta.FindStatusCondition(f.Status.Conditions, flotillav1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == flotillav1.ReasonProjectViolation &&
			strings.Contains(c.Message, "sourceRepos")
	})
	time.Sleep(3 * time.Second) // a few more reconciles of the Fleet
	assertNoRequest(t, srv, "a Fleet whose source its Project refuses")
	if a := getApp(t, "outside-tenancy-f"); a != nil {
		t.Errorf("the Fleet generated an Application for a source its Project refuses")
	}
}

// TestProjectSecrets: an Application of Project team-s may use only the
// Secrets labelled for team-s or listed in its spec.secrets, as
// credentials, verification or decryption keys; another Secret is a
// ProjectViolation decided before the Secret's data is read, and its token
// reaches no server. A labelled Secret works.
func TestProjectSecrets(t *testing.T) {
	ns := harness.TestNamespace(t)
	srv := tokenRepo(t)
	createProject(t, "team-s", flotillav1.ProjectSpec{
		SourceRepos:              []string{strings.TrimSuffix(srv.URL("repo"), "repo") + "*"},
		Destinations:             []flotillav1.ProjectDestination{{Cluster: flotillav1.InCluster, Namespace: ns}},
		ClusterResourceWhitelist: []flotillav1.GroupKindPattern{{Group: "", Kind: "Namespace"}},
		Secrets:                  []string{"team-s-*"},
	})
	data := map[string][]byte{"bearerToken": []byte(harness.CanaryToken), "caCert": srv.CACert()}
	env.CreateSecret(t, "team-b-creds", data)
	createLabelledSecret(t, "labelled-creds", map[string]string{flotillav1.ProjectLabel: "team-s"}, data)
	app := func(name string, edit func(*flotillav1.ApplicationSource)) {
		spec := harness.PlainApp(srv.URL("repo"), ".", ns)
		spec.Project = "team-s"
		edit(&spec.Source)
		newApp(t, name, spec)
	}

	app("secret-of-b", func(s *flotillav1.ApplicationSource) {
		s.CredentialsRef = &flotillav1.LocalObjectReference{Name: "team-b-creds"}
	})
	env.WaitApp(t, "secret-of-b", time.Minute, "ProjectViolation naming the Secret rule",
		conditionSays(flotillav1.ReasonProjectViolation, "team-b-creds", "secrets", flotillav1.ProjectLabel+"=team-s"))
	app("verify-of-b", func(s *flotillav1.ApplicationSource) {
		s.Verify = &flotillav1.Verification{Provider: "ssh", SecretRef: flotillav1.LocalObjectReference{Name: "team-b-creds"}}
	})
	env.WaitApp(t, "verify-of-b", time.Minute, "ProjectViolation for verify.secretRef",
		conditionSays(flotillav1.ReasonProjectViolation, "verification Secret", "team-b-creds"))
	app("decrypt-of-b", func(s *flotillav1.ApplicationSource) {
		s.Decryption = &flotillav1.Decryption{Provider: "sops", SecretRef: flotillav1.LocalObjectReference{Name: "team-b-creds"}}
	})
	env.WaitApp(t, "decrypt-of-b", time.Minute, "ProjectViolation for decryption.secretRef",
		conditionSays(flotillav1.ReasonProjectViolation, "decryption Secret", "team-b-creds"))
	assertNoRequest(t, srv, "Applications naming Secrets their Project does not allow")

	app("labelled", func(s *flotillav1.ApplicationSource) {
		s.CredentialsRef = &flotillav1.LocalObjectReference{Name: "labelled-creds"}
	})
	env.WaitApp(t, "labelled", 2*time.Minute, "Synced with a Secret labelled for its Project", harness.Synced)
}

// TestClusterCredentialsOnlyForClusters: a Cluster's credentials Secret is
// refused as a repository's credentials, whether labelled for the Cluster or
// named by one, and no repository receives its token; a new Cluster naming
// another Cluster's Secret is refused, and no Cluster's credentials are
// sent over plain http.
func TestClusterCredentialsOnlyForClusters(t *testing.T) {
	srv := tokenRepo(t)
	var plainRequests atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		plainRequests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(plain.Close)
	unused := "https://127.0.0.1:1" // nothing listens: the victims are never reached
	clusterData := map[string][]byte{
		"bearerToken": []byte(harness.CanaryToken), "caData": env.Fleet.Cluster("dev-1").CACert, "caCert": srv.CACert(),
	}
	createLabelledSecret(t, "cluster-victim-a", map[string]string{flotillav1.ClusterLabel: "victim-a"}, clusterData)
	newCluster(t, "victim-b", flotillav1.ClusterSpec{Server: unused}, clusterData)
	victim := waitCluster(t, "victim-b", time.Minute, "looked at", unavailable("unreachable"))

	for _, secret := range []string{"cluster-victim-a", "cluster-victim-b"} {
		name := "repo-with-" + secret
		spec := harness.PlainApp(srv.URL("repo"), ".", harness.TestNamespace(t))
		spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: secret}
		newApp(t, name, spec)
		env.WaitApp(t, name, time.Minute, "ProjectViolation: a Cluster's credentials",
			conditionSays(flotillav1.ReasonProjectViolation, secret, "serve that Cluster only"))
	}
	assertNoRequest(t, srv, "Applications naming a Cluster's credentials")

	// Creation times count in seconds: the thief must come later.
	time.Sleep(time.Until(victim.CreationTimestamp.Add(1100 * time.Millisecond)))
	for _, tc := range []struct{ name, secret, why string }{
		{"thief-a", "cluster-victim-a", "serves that Cluster only"},
		{"thief-b", "cluster-victim-b", "serves Cluster victim-b"},
	} {
		c := &flotillav1.Cluster{
			ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: flotillav1.DefaultNamespace},
			Spec:       flotillav1.ClusterSpec{Server: plain.URL, CredentialsRef: &flotillav1.LocalObjectReference{Name: tc.secret}},
		}
		if err := env.Client.Create(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), c) })
		waitCluster(t, tc.name, time.Minute, "refused another Cluster's Secret", unavailable(tc.why))
	}
	newCluster(t, "plain-http", flotillav1.ClusterSpec{Server: plain.URL}, map[string][]byte{"bearerToken": []byte(harness.CanaryToken)})
	waitCluster(t, "plain-http", time.Minute, "refused plain http", unavailable("over plain http"))
	time.Sleep(2 * time.Second)
	if n := plainRequests.Load(); n != 0 {
		t.Errorf("%d requests reached the plain-http server, want none", n)
	}
}

// TestFailureBeforeTheEngineIsCounted: a sync that fails before the engine
// starts (its Project does not exist) is a failed sync in
// flotilla_syncs_total, under its cluster and reason, like any other.
func TestFailureBeforeTheEngineIsCounted(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo := gitserver.NewRepo(t, root, "counted")
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	env.RegisterCluster(t, "counted", "dev-2", nil)
	spec := harness.PlainApp(srv.URL("counted"), "app", harness.TestNamespace(t))
	spec.Destination.Cluster = "counted"
	spec.Project = "no-such-project"
	newApp(t, "counted", spec)
	env.WaitApp(t, "counted", time.Minute, "ProjectViolation", harness.FailedWith(flotillav1.ReasonProjectViolation))
	var failed float64
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		families, err := env.Scrape()
		if err != nil {
			return false, nil
		}
		for _, m := range families["flotilla_syncs_total"].GetMetric() {
			if label(m, "cluster") == "counted" && label(m, "result") == flotillav1.ReasonProjectViolation {
				failed = m.GetCounter().GetValue()
			}
		}
		return failed >= 1, nil
	})
	if err != nil {
		t.Errorf("flotilla_syncs_total{cluster=\"counted\",result=\"ProjectViolation\"} is %v: the failed sync was not counted", failed)
	}
}
