package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// SetCommitStatus posts one status in each provider's form, with its
// header, its word for the state and its bound on the description.
func TestSetCommitStatus(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	long := strings.Repeat("é", 100)
	for _, tc := range []struct {
		provider, state string
		wantPath        string
		wantAuth        [2]string
		wantBody        map[string]string
	}{
		{"github", StateFailure, "/repos/org/app/statuses/" + sha, [2]string{"Authorization", "Bearer s3cret"},
			map[string]string{"state": "failure", "context": "flotilla/preview/shop", "description": cut(long, 140)}},
		{"gitea", StateError, "/api/v1/repos/org/app/statuses/" + sha, [2]string{"Authorization", "token s3cret"},
			map[string]string{"state": "error", "context": "flotilla/preview/shop", "description": cut(long, 140)}},
		{"gitlab", StateFailure, "/api/v4/projects/org%2Fapp/statuses/" + sha, [2]string{"Private-Token", "s3cret"},
			map[string]string{"state": "failed", "name": "flotilla/preview/shop", "description": long}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			rec := newRecorder(t)
			st := CommitStatus{Provider: tc.provider, BaseURL: rec.srv.URL, Repo: "org/app", SHA: sha, State: tc.state,
				Context: "flotilla/preview/shop", Description: long, Token: "s3cret"}
			if err := SetCommitStatus(context.Background(), st, AddressRule{AllowLoopback: true}); err != nil {
				t.Fatal(err)
			}
			got := rec.requests()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if r.Method != "POST" || r.Path != tc.wantPath || r.Header.Get(tc.wantAuth[0]) != tc.wantAuth[1] {
				t.Errorf("%s %s %s=%q; want POST %s with %s", r.Method, r.Path, tc.wantAuth[0], r.Header.Get(tc.wantAuth[0]), tc.wantPath, tc.wantAuth[0])
			}
			var body map[string]string
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantBody, body); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
		})
	}
}

// What SetCommitStatus refuses it refuses before sending anything, and its
// errors never hold the token.
func TestSetCommitStatusRefuses(t *testing.T) {
	rec := newRecorder(t)
	good := CommitStatus{Provider: "github", BaseURL: rec.srv.URL, Repo: "org/app", SHA: strings.Repeat("a", 40),
		State: StateSuccess, Context: "flotilla/preview/shop", Token: "s3cret"}
	for name, change := range map[string]func(*CommitStatus){
		"provider":      func(s *CommitStatus) { s.Provider = "bitbucket" },
		"no token":      func(s *CommitStatus) { s.Token = "" },
		"gitea no url":  func(s *CommitStatus) { s.Provider, s.BaseURL = "gitea", "" },
		"url userinfo":  func(s *CommitStatus) { s.BaseURL = "http://u:s3cret@127.0.0.1/" },
		"repo":          func(s *CommitStatus) { s.Repo = "org/../app" },
		"repo segments": func(s *CommitStatus) { s.Repo = "app" },
		"short sha":     func(s *CommitStatus) { s.SHA = "abc123" },
		"state":         func(s *CommitStatus) { s.State = "pending" },
		"context":       func(s *CommitStatus) { s.Context = "a\nb" },
		"plain http":    func(s *CommitStatus) { s.BaseURL = "http://git.example.com/" },
		"plain http ip": func(s *CommitStatus) { s.Provider, s.BaseURL = "gitlab", "http://192.0.2.7:8080" },
		"plain http v6": func(s *CommitStatus) { s.BaseURL = "http://[2001:db8::1]/" },
	} {
		st := good
		change(&st)
		err := SetCommitStatus(context.Background(), st, AddressRule{AllowLoopback: true})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error holds the token: %v", name, err)
		}
		// Refused for what it is, before any address is looked up.
		if strings.HasPrefix(name, "plain http") && (!errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), "plain http")) {
			t.Errorf("%s: %v, want ErrInvalidURL saying plain http is refused", name, err)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
	// The rule holds: loopback refused unless allowed.
	if err := SetCommitStatus(context.Background(), good, AddressRule{}); !errors.Is(err, ErrAddressRefused) {
		t.Errorf("loopback without AllowLoopback: %v, want ErrAddressRefused", err)
	}
}

// The provider's word for each state, the same whether the status comes
// from a Notification's event or from SetCommitStatus.
func TestCommitStatusWords(t *testing.T) {
	got := map[string][]string{}
	for _, kind := range []string{"github", "gitea", "gitlab"} {
		c := &commitStatus{kind: kind}
		for _, sev := range []string{"info", "warning", "error"} {
			got[kind] = append(got[kind], c.state(sev))
		}
		for _, st := range []string{StateSuccess, StateFailure, StateError} {
			got[kind] = append(got[kind], c.word(st))
		}
	}
	want := map[string][]string{
		"github": {"success", "error", "failure", "success", "failure", "error"},
		"gitea":  {"success", "warning", "failure", "success", "failure", "error"},
		"gitlab": {"success", "failed", "failed", "success", "failed", "failed"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("states (-want +got):\n%s", d)
	}
}

// A repository path is checked by one rule for both callers.
func TestRepoPathProblem(t *testing.T) {
	for p, want := range map[string]bool{
		"org/app": true, "org/sub/app": false, "org": false, "org/../app": false, "org/./app": false,
		"org/a b": false, "org/app%2F..": false, "": false,
	} {
		if got := repoPathProblem(p, 2) == ""; got != want {
			t.Errorf("repoPathProblem(%q, 2) allows: %v, want %v", p, got, want)
		}
	}
	if why := repoPathProblem("grp/sub/app", repoSegments("gitlab")); why != "" {
		t.Errorf("a GitLab subgroup: %s", why)
	}
	st := CommitStatus{Provider: "github", Repo: "org/.."}
	if err := st.check(); err == nil || !strings.Contains(err.Error(), "unusual repository path") {
		t.Errorf("SetCommitStatus's check: %v, want the shared rule's words", err)
	}
}
