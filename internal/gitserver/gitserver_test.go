package gitserver_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// git runs the git CLI as a client would, with no user configuration.
func git(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	}, env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		return stderr.String(), err
	}
	return out.String(), nil
}

// lsRemote returns ref name → SHA as the server advertises them.
func lsRemote(t *testing.T, env []string, url string) map[string]string {
	t.Helper()
	out, err := git(t, env, "ls-remote", "--", url)
	if err != nil {
		t.Fatalf("ls-remote %s: %v: %s", url, err, out)
	}
	refs := map[string]string{}
	for line := range strings.Lines(out) {
		sha, name, _ := strings.Cut(strings.TrimSpace(line), "\t")
		refs[name] = sha
	}
	return refs
}

func TestRepoRefs(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	c1 := repo.Commit("main", map[string]string{"a.yaml": "a: 1\n", "dir/b.yaml": "b: 2\n"})
	c2 := repo.Commit("main", map[string]string{"a.yaml": "a: 2\n"})
	repo.Branch("release", c1)
	repo.Tag("v1.0.0", c1)
	tagObject := repo.AnnotatedTag("v1.1.0", c2, "release 1.1.0")
	repo.Commit("feature", map[string]string{"x": "y"})
	repo.DeleteBranch("feature")

	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	got := lsRemote(t, nil, srv.URL("org/config.git"))
	want := map[string]string{
		"HEAD":                c2,
		"refs/heads/main":     c2,
		"refs/heads/release":  c1,
		"refs/tags/v1.0.0":    c1,
		"refs/tags/v1.1.0":    tagObject,
		"refs/tags/v1.1.0^{}": c2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if c1 == c2 || repo.Head("main") != c2 {
		t.Errorf("commits: c1=%s c2=%s head=%s", c1, c2, repo.Head("main"))
	}
}

func TestRepoEntries(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "modes.git")
	repo.CommitEntries("main", []gitserver.Entry{
		{Path: "run.sh", Content: "#!/bin/sh\n", Mode: gitserver.ModeExecutable},
		{Path: "link", Content: "../outside", Mode: gitserver.ModeSymlink},
		{Path: "plain", Content: "x"},
	})
	dest := filepath.Join(t.TempDir(), "clone")
	if out, err := git(t, nil, "clone", "--quiet", "--", "file://"+repo.Dir, dest); err != nil {
		t.Fatalf("clone: %v: %s", err, out)
	}
	fi, err := os.Stat(filepath.Join(dest, "run.sh"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh: want an executable file, got %v, %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dest, "link")); err != nil || target != "../outside" {
		t.Errorf("link: want a symlink to ../outside, got %q, %v", target, err)
	}
}

func TestHTTPAuthAndCounts(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "private.git")
	sha := repo.Commit("main", map[string]string{"f": "1"})
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "alice", Password: "s3cret", BearerToken: "tok3n", TLS: true})

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, srv.CACert(), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := "GIT_SSL_CAINFO=" + caFile
	header := func(v string) []string {
		return []string{ca, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: " + v}
	}
	if _, err := git(t, []string{ca}, "ls-remote", "--", srv.URL("private.git")); err == nil {
		t.Error("ls-remote without credentials: want an error")
	}
	if got := lsRemote(t, header("Bearer tok3n"), srv.URL("private.git"))["HEAD"]; got != sha {
		t.Errorf("with bearer token: HEAD = %q, want %s", got, sha)
	}
	// alice:s3cret
	if got := lsRemote(t, header("Basic YWxpY2U6czNjcmV0"), srv.URL("private.git"))["HEAD"]; got != sha {
		t.Errorf("with basic auth: HEAD = %q, want %s", got, sha)
	}
	before := srv.Counts()
	dest := filepath.Join(t.TempDir(), "clone")
	if out, err := git(t, header("Bearer tok3n"), "clone", "--quiet", "--depth=1", "--", srv.URL("private.git"), dest); err != nil {
		t.Fatalf("clone: %v: %s", err, out)
	}
	after := srv.Counts()
	if after.Fetches-before.Fetches != 1 {
		t.Errorf("a shallow clone made %d fetches, want 1", after.Fetches-before.Fetches)
	}
	if before.Unauthorized == 0 || before.LsRefs == 0 {
		t.Errorf("counts before the clone: %+v, want unauthorized and ls-refs requests", before)
	}
}

func TestSSH(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	sha := repo.Commit("main", map[string]string{"f": "1"})
	key, pub := gitserver.NewKey(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	otherKey, _ := gitserver.NewKey(t)
	sshCmd := func(keyFile string) []string {
		return []string{"GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes" +
			" -o UserKnownHostsFile=" + write("known_hosts", srv.KnownHosts()) + " -i " + keyFile}
	}
	if got := lsRemote(t, sshCmd(write("id", key)), srv.URL("org/config.git"))["refs/heads/main"]; got != sha {
		t.Errorf("main = %q, want %s", got, sha)
	}
	if _, err := git(t, sshCmd(write("other", otherKey)), "ls-remote", "--", srv.URL("org/config.git")); err == nil {
		t.Error("ls-remote with an unknown key: want an error")
	}
	// Push a new commit back over SSH.
	work := filepath.Join(t.TempDir(), "work")
	env := append(sshCmd(filepath.Join(dir, "id")), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	for _, args := range [][]string{
		{"clone", "--quiet", "--", srv.URL("org/config.git"), work},
		{"-C", work, "commit", "--quiet", "--allow-empty", "-m", "pushed"},
		{"-C", work, "push", "--quiet", "origin", "main"},
	} {
		if out, err := git(t, env, args...); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	if repo.Head("main") == sha {
		t.Error("push over SSH did not move main")
	}
	c := srv.Counts()
	if c.AuthFailures == 0 || c.UploadPacks < 2 || c.ReceivePacks != 1 {
		t.Errorf("counts = %+v", c)
	}
}

func TestSSHRefusesPathsOutsideRoot(t *testing.T) {
	root := t.TempDir()
	gitserver.NewRepo(t, filepath.Dir(root), filepath.Base(root)+"-outside.git")
	key, pub := gitserver.NewKey(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	keyFile := filepath.Join(t.TempDir(), "id")
	hosts := filepath.Join(t.TempDir(), "known_hosts")
	_ = os.WriteFile(keyFile, key, 0o600)
	_ = os.WriteFile(hosts, srv.KnownHosts(), 0o600)
	env := []string{"GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=" + hosts + " -i " + keyFile}
	out, err := git(t, env, "ls-remote", "--", srv.URL("../"+filepath.Base(root)+"-outside.git"))
	if err == nil || !strings.Contains(out, "outside the root") {
		t.Errorf("ls-remote outside the root: err=%v, stderr=%q", err, out)
	}
}
