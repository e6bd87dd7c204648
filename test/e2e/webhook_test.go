package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub's older signature form is tested
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/webhook"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// webhookSecret is the shared secret every provider is given in the tests.
const webhookSecret = "hook-canary-7d1f3"

// startWebhook serves the webhook handler on loopback, with its Secret
// (one key per provider) created under a name of the test's own.
func startWebhook(t *testing.T, window time.Duration) string {
	t.Helper()
	name := "webhook-" + harness.TestNamespace(t)
	if len(name) > 60 {
		name = name[:60]
	}
	data := map[string][]byte{}
	for _, k := range []string{webhook.KeyGitHub, webhook.KeyGitLab, webhook.KeyGitea, webhook.KeyBitbucket, webhook.KeyOCI} {
		data[k] = []byte(webhookSecret + "\n")
	}
	env.CreateSecret(t, name, data)
	h := webhook.New(webhook.Options{Hub: env.Client, Namespace: flotillav1.DefaultNamespace, SecretName: name, Window: window})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv.URL
}

func hmacHex(newHash func() hash.Hash, body []byte) string {
	m := hmac.New(newHash, []byte(webhookSecret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// githubPush is a GitHub push event of branch in the repository at url,
// named by its clone URL with .git appended, as GitHub writes it.
func githubPush(url, branch string) []byte {
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/" + branch,
		"repository": map[string]any{
			"clone_url": url + ".git", "html_url": url, "default_branch": "main",
		},
	})
	return body
}

// postHook posts body to the webhook at base+path with headers and returns
// the status.
func postHook(t *testing.T, base, path string, body []byte, headers map[string]string) int {
	t.Helper()
	code, err := tryPostHook(base, path, body, headers)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func tryPostHook(base, path string, body []byte, headers map[string]string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", path, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func signedGitHub(body []byte) map[string]string {
	return map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmacHex(sha256.New, body)}
}

// quietApp is an Application of app/ in url that syncs automatically but
// looks for new commits only once an hour, so that only a refresh makes it
// see one soon.
func quietApp(url, revision, ns string) flotillav1.ApplicationSpec {
	spec := harness.PlainApp(url, "app", ns)
	spec.Source.TargetRevision = revision
	spec.SyncPolicy.Interval = harness.Interval(time.Hour)
	return spec
}

func refreshToken(t *testing.T, name string) string {
	t.Helper()
	app := getApp(t, name)
	if app == nil {
		t.Fatalf("Application %s is gone", name)
	}
	return app.Annotations[flotillav1.RefreshAnnotation]
}

// TestWebhookPushApplies: a signed GitHub push of main refreshes the
// Applications that follow main in that repository (written without .git,
// the payload names it with), and they apply the new commit at once,
// though their interval is an hour; the one that follows another branch
// is left alone.
func TestWebhookPushApplies(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "hooked")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	repo.Branch("stable", first)
	base := startWebhook(t, 0)

	newApp(t, "hook-main", quietApp(srv.URL("hooked"), "main", ns))
	newApp(t, "hook-head", quietApp(srv.URL("hooked"), "", ns+"-head"))
	newApp(t, "hook-stable", quietApp(srv.URL("hooked"), "stable", ns+"-stable"))
	for _, name := range []string{"hook-main", "hook-head", "hook-stable"} {
		env.WaitApp(t, name, 2*time.Minute, "Synced at the first commit", func(a *flotillav1.Application) bool {
			return harness.Synced(a) && a.Status.Sync.Revision == first
		})
	}

	second := repo.Commit("main", map[string]string{"app/cm.yaml": strings.Replace(harness.GoodConfigMap, "k: v", "k: v2", 1)})
	body := githubPush(srv.URL("hooked"), "main")
	if code := postHook(t, base, "/api/webhook", body, signedGitHub(body)); code != http.StatusAccepted {
		t.Fatalf("signed push: status %d, want 202", code)
	}
	for _, name := range []string{"hook-main", "hook-head"} {
		env.WaitApp(t, name, 30*time.Second, "Synced at the pushed commit", func(a *flotillav1.Application) bool {
			return harness.Synced(a) && a.Status.Sync.Revision == second && a.Status.LastHandledRefresh != ""
		})
	}
	if v := env.ConfigMapData(t, ns, "good"); v != "v2" {
		t.Errorf("after the push k=%q, want v2", v)
	}
	if tok := refreshToken(t, "hook-stable"); tok != "" {
		t.Errorf("the Application following stable was refreshed (%q) by a push of main", tok)
	}
}

// hookCase is one provider's request: its path, body and headers, signed
// right or wrong.
type hookCase struct {
	name, app, path string
	body            []byte
	good, bad       map[string]string
}

// providerCases are a push of main (or of an artifact to ociURL) in each
// provider's form, each to the repository of its Application (payloadURL),
// each with a right and a wrong signature or token.
func providerCases(payloadURL func(app string) string, ociURL string) []hookCase {
	gh := githubPush(payloadURL("wh-github"), "main")
	gt := githubPush(payloadURL("wh-gitea"), "main")
	gitlab, _ := json.Marshal(map[string]any{"object_kind": "push", "ref": "refs/heads/main",
		"project": map[string]any{"git_http_url": payloadURL("wh-gitlab") + ".git", "default_branch": "main"}})
	bb := payloadURL("wh-bitbucket")
	cloud, _ := json.Marshal(map[string]any{
		"repository": map[string]any{"links": map[string]any{"html": map[string]any{"href": bb}}},
		"push":       map[string]any{"changes": []any{map[string]any{"new": map[string]any{"type": "branch", "name": "main"}}}},
	})
	server, _ := json.Marshal(map[string]any{
		"repository": map[string]any{"links": map[string]any{"clone": []any{map[string]any{"href": bb + ".git", "name": "http"}}}},
		"changes":    []any{map[string]any{"ref": map[string]any{"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"}}},
	})
	oci, _ := json.Marshal(map[string]any{"repository": ociURL, "tag": "1.0.0"})
	wrong := []byte("not the secret")
	badMAC := func(body []byte) string {
		m := hmac.New(sha256.New, wrong)
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	return []hookCase{
		{"github sha256", "wh-github", "/api/webhook", gh, signedGitHub(gh),
			map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + badMAC(gh)}},
		{"github sha1", "wh-github", "/api/webhook", gh,
			map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=" + hmacHex(sha1.New, gh)},
			map[string]string{"X-GitHub-Event": "push"}},
		{"gitea", "wh-gitea", "/api/webhook", gt,
			map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gitea-Signature": hmacHex(sha256.New, gt)},
			map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gitea-Signature": badMAC(gt), "X-Hub-Signature-256": "sha256=" + hmacHex(sha256.New, gt)}},
		{"forgejo", "wh-gitea", "/api/webhook", gt,
			map[string]string{"X-Forgejo-Event": "push", "X-Forgejo-Signature": hmacHex(sha256.New, gt)},
			map[string]string{"X-Forgejo-Event": "push", "X-Forgejo-Signature": hmacHex(sha1.New, gt)}},
		{"gitlab", "wh-gitlab", "/api/webhook", gitlab,
			map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": webhookSecret},
			map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": webhookSecret + "x"}},
		{"bitbucket cloud", "wh-bitbucket", "/api/webhook", cloud,
			map[string]string{"X-Event-Key": "repo:push", "X-Hub-Signature": "sha256=" + hmacHex(sha256.New, cloud)},
			map[string]string{"X-Event-Key": "repo:push", "X-Hub-Signature": "sha256=" + badMAC(cloud)}},
		{"bitbucket server", "wh-bitbucket", "/api/webhook", server,
			map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": "sha256=" + hmacHex(sha256.New, server)},
			map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": "sha256=" + hmacHex(sha256.New, cloud)}},
		{"oci", "wh-oci", "/api/webhook/oci", oci,
			map[string]string{"Authorization": "Bearer " + webhookSecret},
			map[string]string{"Authorization": "Bearer " + string(wrong)}},
	}
}

// TestWebhookProviders: each provider's signature or token form is
// accepted, and a wrong one is refused with 401 and patches nothing; a
// 10 MB body, even rightly signed, is refused with 413 and patches
// nothing. Each provider's Application names the repository in another
// form (ssh, scp-like, with a default port, in upper case) than its payload.
func TestWebhookProviders(t *testing.T) {
	ns := harness.TestNamespace(t)
	base := startWebhook(t, 100*time.Millisecond)
	// The repositories need not exist: only the refresh is looked at.
	apps := map[string]string{
		"wh-github":    "ssh://git@git.example.invalid:22/org/gh.git",
		"wh-gitea":     "https://git.example.invalid:443/org/gt",
		"wh-gitlab":    "git@GIT.example.invalid:Org/gl",
		"wh-bitbucket": "ssh://git@git.example.invalid/org/bb",
	}
	for app, url := range apps {
		newApp(t, app, quietApp(url, "main", ns))
	}
	ociSpec := quietApp("oci://registry.example.invalid/apps/web", "1.x", ns)
	ociSpec.Source.Path = ""
	newApp(t, "wh-oci", ociSpec)
	payloadURL := func(app string) string {
		return "https://git.example.invalid/org/" + map[string]string{"wh-github": "gh", "wh-gitea": "gt", "wh-gitlab": "gl", "wh-bitbucket": "bb"}[app]
	}
	cases := providerCases(payloadURL, "registry.example.invalid:443/apps/web")

	huge := append(githubPush("https://git.example.invalid/org/gh", "main"), bytes.Repeat([]byte(" "), 10<<20)...)
	if code := postHook(t, base, "/api/webhook", huge, signedGitHub(huge)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("10 MB body: status %d, want 413", code)
	}
	for _, c := range cases {
		if code := postHook(t, base, c.path, c.body, c.bad); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong signature: status %d, want 401", c.name, code)
		}
	}
	time.Sleep(time.Second) // ten windows: a refresh would have been patched by now
	for _, app := range []string{"wh-github", "wh-gitea", "wh-gitlab", "wh-bitbucket", "wh-oci"} {
		if tok := refreshToken(t, app); tok != "" {
			t.Errorf("%s was refreshed (%q) by a refused request", app, tok)
		}
	}
	for _, c := range cases {
		before := refreshToken(t, c.app)
		if code := postHook(t, base, c.path, c.body, c.good); code != http.StatusAccepted {
			t.Errorf("%s rightly signed: status %d, want 202", c.name, code)
			continue
		}
		env.WaitApp(t, c.app, 10*time.Second, c.name+": refreshed", func(a *flotillav1.Application) bool {
			tok := a.Annotations[flotillav1.RefreshAnnotation]
			return tok != "" && tok != before
		})
	}
}

// TestWebhookRefreshesFleet: a Fleet whose rollout pins its Applications
// to commits is refreshed by a push of its branch and moves them to the
// pushed commit, though its interval is an hour.
func TestWebhookRefreshesFleet(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleethook")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", regionFiles("1"))
	env.RegisterCluster(t, "hook-a", "dev-1", map[string]string{"hooked": "yes", "region": "eu"})
	base := startWebhook(t, 0)
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "hooked", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"hooked": "yes"}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("fleethook"), TargetRevision: "main", Path: "regions/eu"},
				Destination: flotillav1.FleetDestination{Namespace: "fleet-hooked"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated: &flotillav1.AutomatedSync{Prune: true}, CreateNamespace: true, Interval: harness.Interval(time.Hour),
				},
			},
			Rollout: &flotillav1.Rollout{MaxParallel: "100%"},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	atCommit := func(commit string) func(*flotillav1.Application) bool {
		return func(a *flotillav1.Application) bool {
			return a.Spec.Source.TargetRevision == commit && a.Status.Sync.Revision == commit && a.Status.Sync.Status == flotillav1.SyncStatusSynced
		}
	}
	env.WaitApp(t, "hooked-hook-a", 2*time.Minute, "pinned and Synced at the first commit", atCommit(first))
	time.Sleep(4 * time.Second) // past the rollout's poll: the Fleet now waits its interval

	second := repo.Commit("main", regionFiles("2"))
	body := githubPush(srv.URL("fleethook"), "main")
	if code := postHook(t, base, "/api/webhook", body, signedGitHub(body)); code != http.StatusAccepted {
		t.Fatalf("signed push: status %d, want 202", code)
	}
	env.WaitApp(t, "hooked-hook-a", 30*time.Second, "pinned and Synced at the pushed commit", atCommit(second))
	var got flotillav1.Fleet
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(f), &got); err != nil {
		t.Fatal(err)
	}
	if got.Annotations[flotillav1.RefreshAnnotation] == "" {
		t.Error("the Fleet carries no refresh annotation")
	}
}
