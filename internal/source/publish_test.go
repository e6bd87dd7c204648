package source_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// TestPublish commits files to a branch behind a password over TLS: the
// first time onto an empty repository, then on top of a commit someone
// else made; a file the user owns is written once and then left as the
// user changed it; publishing what the branch holds already pushes
// nothing; hostile paths and branch names are refused before any request;
// a wrong password fails naming the cause, without the password.
func TestPublish(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "ops", Password: canary, TLS: true})
	creds := &source.Credentials{Username: "ops", Password: canary, CACert: srv.CACert()}
	c := newClient(t, nil)
	pub := source.Publication{
		URL: srv.URL("fleet"), Branch: "main", Credentials: creds,
		Files:   map[string][]byte{"clusters/hub/managed.yaml": []byte("v: 1\n")},
		Initial: map[string][]byte{"clusters/hub/yours.yaml": []byte("mine: default\n")},
		Message: "publish", AuthorName: "Flotilla test", AuthorEmail: "test@flotilla.dev",
	}
	show := func(commit, file string) string {
		t.Helper()
		out, err := exec.Command("git", "--git-dir", repo.Dir, "show", commit+":"+file).Output()
		if err != nil {
			t.Fatalf("%s:%s: %v", commit, file, err)
		}
		return string(out)
	}

	first, err := c.Publish(testContext(t), pub)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Changed || first.Commit != repo.Head("main") {
		t.Fatalf("first publish: %+v, head %s", first, repo.Head("main"))
	}
	if got := show(first.Commit, "clusters/hub/yours.yaml"); got != "mine: default\n" {
		t.Errorf("the initial file: %q", got)
	}

	// Someone edits the file that is theirs and adds another.
	edited := repo.Commit("main", map[string]string{
		"clusters/hub/managed.yaml": "v: 1\n", "clusters/hub/yours.yaml": "mine: edited\n", "README.md": "hello\n",
	})
	pushesBefore := srv.Counts().Pushes
	same, err := c.Publish(testContext(t), pub)
	if err != nil {
		t.Fatal(err)
	}
	if same.Changed || same.Commit != edited || srv.Counts().Pushes != pushesBefore {
		t.Errorf("publishing what the branch holds: %+v, head %s, pushes %d → %d", same, edited, pushesBefore, srv.Counts().Pushes)
	}

	pub.Files = map[string][]byte{"clusters/hub/managed.yaml": []byte("v: 2\n")}
	second, err := c.Publish(testContext(t), pub)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Changed || second.Commit != repo.Head("main") {
		t.Fatalf("second publish: %+v", second)
	}
	for file, want := range map[string]string{"clusters/hub/managed.yaml": "v: 2\n", "clusters/hub/yours.yaml": "mine: edited\n", "README.md": "hello\n"} {
		if got := show(second.Commit, file); got != want {
			t.Errorf("%s after the second publish: %q, want %q", file, got, want)
		}
	}
	if parent := strings.TrimSpace(runGitOut(t, repo.Dir, "rev-parse", second.Commit+"^")); parent != edited {
		t.Errorf("the second commit's parent is %s, want %s", parent, edited)
	}

	// A new branch of a repository that has commits starts from nothing.
	pub.Branch = "other"
	if res, err := c.Publish(testContext(t), pub); err != nil || !res.Changed || res.Commit != repo.Head("other") {
		t.Errorf("publish to a new branch: %+v, %v", res, err)
	}

	requests := srv.Counts().Requests
	for name, bad := range map[string]source.Publication{
		"dot-dot path":  {Files: map[string][]byte{"../escape.yaml": nil}},
		"git folder":    {Files: map[string][]byte{".git/config": nil}},
		"absolute path": {Initial: map[string][]byte{"/etc/passwd": nil}},
		"unclean path":  {Files: map[string][]byte{"a//b.yaml": nil}},
		"option branch": {Branch: "--upload-pack=x"},
		"ref branch":    {Branch: "main:refs/heads/x"},
	} {
		p := pub
		p.Branch = "main"
		if bad.Branch != "" {
			p.Branch = bad.Branch
		}
		p.Files, p.Initial = bad.Files, bad.Initial
		if _, err := c.Publish(testContext(t), p); err == nil {
			t.Errorf("%s: published", name)
		}
	}
	if srv.Counts().Requests != requests {
		t.Errorf("refused publications made %d requests", srv.Counts().Requests-requests)
	}

	wrong := pub
	wrong.Branch = "main"
	wrong.Credentials = &source.Credentials{Username: "ops", Password: canary + "x", CACert: srv.CACert()}
	_, err = c.Publish(testContext(t), wrong)
	if !errors.Is(err, source.ErrAuth) || strings.Contains(err.Error(), canary) {
		t.Errorf("a wrong password: %v", err)
	}
}

func runGitOut(t *testing.T, gitDir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", gitDir}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}
