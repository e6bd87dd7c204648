package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// A preview's Markdown keeps what clusters and repositories say inert: a
// cluster name cannot close its code span or the table, a diff cannot close
// its fence.
func TestFleetPreviewMarkdownIsInert(t *testing.T) {
	p := &wire.FleetPreview{Revision: "4f2a9c1d8e7b", Clusters: []wire.ClusterPreview{
		{Cluster: "eu`|<script>", Revision: "4f2a9c1d8e7b", Resources: []wire.ResourceDiff{{
			ObjectRef: wire.ObjectRef{Kind: "ConfigMap", Namespace: "shop", Name: "cfg"}, Action: wire.DiffUpdate,
			Diff: "-  a: \"```\"\n+  a: \"[x](javascript:alert(1))\"\n",
		}}},
		{Cluster: "us", Error: "no matches for kind \"Widget\"\nin version example.com/v1"},
	}}
	var b strings.Builder
	if err := printFleetPreviewMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "| `` eu`\\|<script> `` | 0 | 1 | 0 | changes |") {
		t.Errorf("the cluster's row is not one inert code span:\n%s", out)
	}
	if !strings.Contains(out, "````diff\n") || !strings.HasSuffix(strings.TrimSpace(out), "````\n\n</details>") && !strings.Contains(out, "\n````\n\n</details>") {
		t.Errorf("the diff holding ``` is not in a longer fence:\n%s", out)
	}
	if !strings.Contains(out, "| ` us ` | 0 | 0 | 0 | error: ` no matches for kind \"Widget\" in version example.com/v1 ` |") {
		t.Errorf("the error row:\n%s", out)
	}
	if e, ok := errors.AsType[*ExitError](previewExit(p, nil)); !ok || e.Code != diffExitError {
		t.Errorf("a preview with a cluster in error exits %v, want %d", e, diffExitError)
	}
}

// A preview's commit status: success whether or not clusters change,
// failure when one cannot be previewed, error when the preview failed;
// the description is one line within GitHub's 140 bytes, the context
// names the Fleet, and the token goes in the header only.
func TestPreviewCommitStatus(t *testing.T) {
	sha := strings.Repeat("c", 40)
	update := []wire.ResourceDiff{{ObjectRef: wire.ObjectRef{Kind: "ConfigMap", Name: "cfg"}, Action: wire.DiffUpdate}}
	same := []wire.ResourceDiff{{ObjectRef: wire.ObjectRef{Kind: "ConfigMap", Name: "cfg"}, Action: wire.DiffNone}}
	for _, tc := range []struct {
		name      string
		p         *wire.FleetPreview
		err       error
		wantState string
		wantDesc  string
		// revision, when set, is --revision and --sha is not given.
		revision string
	}{
		{"changes", &wire.FleetPreview{Clusters: []wire.ClusterPreview{
			{Cluster: "eu", Revision: sha, Resources: update}, {Cluster: "us", Revision: sha, Resources: same}}},
			nil, "success", "2 clusters: 1 would change, 1 unchanged, 0 in error (0 to create, 1 to update, 0 to delete)", ""},
		{"cluster error", &wire.FleetPreview{Clusters: []wire.ClusterPreview{
			{Cluster: "eu", Revision: sha, Resources: update}, {Cluster: "us", Error: strings.Repeat("no matches for kind Widget\n", 20)}}},
			nil, "failure", "2 clusters: 1 would change, 0 unchanged, 1 in error (0 to create, 1 to update, 0 to delete); us: no matches for kind Widget no matches fo…", ""},
		{"failed", nil, errors.New("hub: connection refused"), "error", "preview failed: hub: connection refused", ""},
		// Nothing resolved, no --sha: the status goes to --revision.
		{"failed at a SHA", nil, errors.New("hub: connection refused"), "error", "preview failed: hub: connection refused", strings.ToUpper(sha)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				method, path, auth string
				body               map[string]string
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.method, got.path, got.auth = r.Method, r.URL.Path, r.Header.Get("Authorization")
				_ = json.NewDecoder(r.Body).Decode(&got.body)
				w.WriteHeader(http.StatusCreated)
			}))
			defer srv.Close()
			t.Setenv(statusTokenEnv, "tok-123")
			flags := statusFlags{provider: "github", url: srv.URL, repo: "org/config", sha: sha}
			if tc.revision != "" {
				flags.sha = ""
			}
			post, err := flags.request("shop", tc.revision)
			if err != nil {
				t.Fatal(err)
			}
			if err := post.send(context.Background(), tc.p, tc.err); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"state": tc.wantState, "context": "flotilla/preview/shop", "description": tc.wantDesc}
			if got.method != "POST" || got.path != "/repos/org/config/statuses/"+sha || got.auth != "Bearer tok-123" {
				t.Errorf("%s %s auth %q", got.method, got.path, got.auth)
			}
			if d := cmp.Diff(want, got.body); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
			if len(got.body["description"]) > 140 {
				t.Errorf("description of %d bytes", len(got.body["description"]))
			}
		})
	}
}

// The commit defaults to the one the preview resolved, when every cluster
// resolved the same; the flags are checked before any preview runs.
func TestPreviewStatusFlags(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	if got := resolvedCommit(&wire.FleetPreview{Clusters: []wire.ClusterPreview{{Revision: a}, {Error: "x"}, {Revision: a}}}); got != a {
		t.Errorf("resolvedCommit = %q, want %q", got, a)
	}
	if got := resolvedCommit(&wire.FleetPreview{Clusters: []wire.ClusterPreview{{Revision: a}, {Revision: b}}}); got != "" {
		t.Errorf("resolvedCommit of two commits = %q, want none", got)
	}
	// Each case is wrong in one way only: with a token but for the case
	// that has none, so that each error is the one its check gives.
	for _, tc := range []struct {
		f       statusFlags
		token   string
		wantErr string
	}{
		{statusFlags{provider: "github", repo: "org/config"}, "", "needs a token"},
		{statusFlags{provider: "github", repo: "org/config"}, "  ", "needs a token"},
		{statusFlags{provider: "bitbucket", repo: "org/config"}, "s3cret", "want github, gitlab or gitea"},
		{statusFlags{provider: "github"}, "s3cret", "needs --repo"},
		{statusFlags{repo: "org/config"}, "s3cret", "go with --post-status"},
		{statusFlags{provider: "gitlab", repo: "org/config"}, "s3cret", "needs the server's URL"},
	} {
		t.Setenv(statusTokenEnv, tc.token)
		_, err := tc.f.request("shop", "")
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%+v with token %q: error %v, want one saying %q", tc.f, tc.token, err, tc.wantErr)
		}
	}
	t.Setenv(statusTokenEnv, "s3cret")
	if post, err := (&statusFlags{provider: "github", repo: "org/config"}).request("shop", ""); err != nil || post.st.Token != "s3cret" {
		t.Errorf("good flags: %v", err)
	}
	// The token never goes over plain http but to this machine.
	for url, ok := range map[string]bool{
		"http://git.example.com":   false,
		"http://10.0.0.7:3000":     false,
		"https://git.example.com":  true,
		"http://127.0.0.1:3000":    true,
		"http://localhost:3000":    true,
		"http://[::1]:3000/gitlab": true,
	} {
		_, err := (&statusFlags{provider: "gitea", url: url, repo: "org/config"}).request("shop", "")
		switch {
		case ok && err != nil:
			t.Errorf("--status-url %s: %v", url, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), "plain http")):
			t.Errorf("--status-url %s: error %v, want one that says plain http is refused", url, err)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("--status-url %s: the error holds the token: %v", url, err)
		}
	}
}
