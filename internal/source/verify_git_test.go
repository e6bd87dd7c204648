package source_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/signtest"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// signers are the git signature providers, each with a way to make keys.
var signers = []struct {
	provider string
	newKey   func(testing.TB) (func([]byte) []byte, []byte)
}{
	{source.VerifySSH, signtest.NewSSHSigner},
	{source.VerifyGPG, signtest.NewGPGSigner},
}

// TestVerifyGitCommit fetches signed and unsigned commits from a real git
// server with each provider: only a commit signed by a trusted key is
// handed out.
func TestVerifyGitCommit(t *testing.T) {
	for _, s := range signers {
		t.Run(s.provider, func(t *testing.T) {
			root := t.TempDir()
			repo := gitserver.NewRepo(t, root, "org/config.git")
			sign, trusted := s.newKey(t)
			signOther, _ := s.newKey(t)
			signed := repo.CommitSigned("signed", map[string]string{"app.yaml": "signed\n"}, sign)
			unsigned := repo.Commit("unsigned", map[string]string{"app.yaml": "unsigned\n"})
			other := repo.CommitSigned("other", map[string]string{"app.yaml": "other\n"}, signOther)
			url := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root}).URL("org/config.git")
			c := newClient(t, nil)
			// A second entry of the Secret holds a key of the other kind's
			// syntax only if it is valid; here, two keys of this kind.
			_, unrelated := s.newKey(t)
			verify := &source.Verification{Provider: s.provider, Keys: [][]byte{unrelated, trusted}}

			art := fetch(t, c, source.GitRequest{URL: url, Revision: "signed", Verify: verify})
			if art.Commit != signed || readTree(t, art.Dir)["app.yaml"] != "signed\n" {
				t.Fatalf("got %s with %v, want %s", art.Commit, readTree(t, art.Dir), signed)
			}

			for _, tt := range []struct{ rev, commit, want string }{
				{"unsigned", unsigned, "is not signed"},
				{"other", other, "is signed by a key not in the trusted keys ("},
			} {
				_, err := c.Fetch(testContext(t), source.GitRequest{URL: url, Revision: tt.rev, Verify: verify})
				wantError(t, err, source.ErrUnverified)
				if !strings.Contains(err.Error(), "commit "+tt.commit[:12]+" "+tt.want) {
					t.Errorf("Fetch(%s) error = %v, want %q", tt.rev, err, tt.want)
				}
			}
			if st := c.CacheStats(); st.InUse != 1 {
				t.Errorf("cache stats = %+v, want only the verified checkout in use", st)
			}
		})
	}
}

// TestVerifyGitSharedCheckout checks that a cached checkout is verified for
// every caller: one fetched without verification, or verified with other
// keys, is not handed to a caller who asks for verification.
func TestVerifyGitSharedCheckout(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	sign, trusted := signtest.NewSSHSigner(t)
	_, untrusted := signtest.NewSSHSigner(t)
	unsigned := repo.Commit("unsigned", map[string]string{"f": "1\n"})
	signed := repo.CommitSigned("signed", map[string]string{"f": "2\n"}, sign)
	url := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root}).URL("org/config.git")
	c := newClient(t, nil)

	fetch(t, c, source.GitRequest{URL: url, Revision: unsigned})
	_, err := c.Fetch(testContext(t), source.GitRequest{URL: url, Revision: unsigned,
		Verify: &source.Verification{Provider: source.VerifySSH, Keys: [][]byte{trusted}}})
	wantError(t, err, source.ErrUnverified)

	fetch(t, c, source.GitRequest{URL: url, Revision: signed,
		Verify: &source.Verification{Provider: source.VerifySSH, Keys: [][]byte{trusted}}})
	_, err = c.Fetch(testContext(t), source.GitRequest{URL: url, Revision: signed,
		Verify: &source.Verification{Provider: source.VerifySSH, Keys: [][]byte{untrusted}}})
	wantError(t, err, source.ErrUnverified)
	fetch(t, c, source.GitRequest{URL: url, Revision: signed})

	if st := c.CacheStats(); st.Checkouts != 2 {
		t.Errorf("cache stats = %+v, want 2 checkouts, each fetched once", st)
	}
}

// TestVerifyGitRefused covers verifications that cannot succeed whatever
// the commit: a signature of the other kind, a key that cannot be read, a
// provider that is not for git.
func TestVerifyGitRefused(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "org/config.git")
	signSSH, sshKey := signtest.NewSSHSigner(t)
	_, gpgKey := signtest.NewGPGSigner(t)
	sha := repo.CommitSigned("main", map[string]string{"f": "ssh\n"}, signSSH)
	url := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root}).URL("org/config.git")
	c := newClient(t, nil)

	for _, tt := range []struct {
		name   string
		verify source.Verification
		want   string
	}{
		{"ssh signature, gpg keys", source.Verification{Provider: source.VerifyGPG, Keys: [][]byte{gpgKey}},
			"commit " + sha[:12] + " is not signed with gpg (it carries an SSH signature)"},
		{"gpg key given to ssh", source.Verification{Provider: source.VerifySSH, Keys: [][]byte{sshKey, gpgKey}},
			"key 2 cannot be read"},
		{"ssh key given to gpg", source.Verification{Provider: source.VerifyGPG, Keys: [][]byte{sshKey}},
			"key 1 cannot be read"},
		{"empty key", source.Verification{Provider: source.VerifySSH, Keys: [][]byte{[]byte("# none\n")}},
			"key 1 cannot be read"},
		{"no keys", source.Verification{Provider: source.VerifySSH}, "no trusted keys given"},
		{"cosign", source.Verification{Provider: source.VerifyCosign, Keys: [][]byte{sshKey}},
			"cosign verifies OCI sources; use ssh or gpg for git"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Fetch(testContext(t), source.GitRequest{URL: url, Verify: &tt.verify})
			wantError(t, err, source.ErrUnverified)
			if !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to end with %q", err, tt.want)
			}
			for _, k := range tt.verify.Keys {
				if fields := strings.Fields(string(k)); len(fields) > 1 && strings.Contains(err.Error(), fields[1]) {
					t.Errorf("error %v holds key material", err)
				}
			}
		})
	}
}

// TestVerifyGitSignedByGit checks the reading of signed commits against git
// itself: a commit made by `git commit -S` with an SSH key that ssh-keygen
// made verifies, with a message that imitates a signature header.
func TestVerifyGitSignedByGit(t *testing.T) {
	for _, bin := range []string{"git", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not found", bin)
		}
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	work := filepath.Join(dir, "work")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull, "LC_ALL=C"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key)
	run("git", "init", "--quiet", "--initial-branch=main", work)
	if err := os.WriteFile(filepath.Join(work, "f"), []byte("by git\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("git", "-C", work, "add", "f")
	run("git", "-C", work, "-c", "user.name=T", "-c", "user.email=t@flotilla.invalid",
		"-c", "gpg.format=ssh", "-c", "user.signingKey="+key+".pub",
		"commit", "--quiet", "-S", "-m", "subject\n\ngpgsig -----BEGIN SSH SIGNATURE-----\n not a header")
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, func(o *source.Options) { o.AllowLocal = true })
	art := fetch(t, c, source.GitRequest{URL: "file://" + filepath.ToSlash(work), Revision: "main",
		Verify: &source.Verification{Provider: source.VerifySSH, Keys: [][]byte{pub}}})
	if readTree(t, art.Dir)["f"] != "by git\n" {
		t.Errorf("checkout = %v", readTree(t, art.Dir))
	}
}
