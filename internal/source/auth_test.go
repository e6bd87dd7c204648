package source_test

import (
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

func redirectorCA(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// TestHTTPSCredentials: basic authentication and bearer tokens over TLS,
// right and wrong, and that the canary password never leaks.
func TestHTTPSCredentials(t *testing.T) {
	root := t.TempDir()
	sha := gitserver.NewRepo(t, root, "private.git").Commit("main", map[string]string{"f": "secret stuff"})
	basic := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "alice", Password: canary, TLS: true})
	bearer := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, BearerToken: canary, TLS: true})
	plain := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	ca := basic.CACert()
	c := newClient(t, nil)

	ok := []struct {
		name  string
		url   string
		creds *source.Credentials
	}{
		{"basic", basic.URL("private.git"), &source.Credentials{Username: "alice", Password: canary, CACert: ca}},
		{"bearer", bearer.URL("private.git"), &source.Credentials{BearerToken: canary, CACert: ca}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			art := fetch(t, c, source.GitRequest{URL: tt.url, Credentials: tt.creds})
			if art.Commit != sha {
				t.Errorf("commit = %s, want %s", art.Commit, sha)
			}
		})
	}

	failing := []struct {
		name  string
		url   string
		creds *source.Credentials
		want  error
	}{
		{"wrong password", basic.URL("private.git"), &source.Credentials{Username: "alice", Password: canary + "x", CACert: ca}, source.ErrAuth},
		{"wrong user", basic.URL("private.git"), &source.Credentials{Username: "mallory", Password: canary, CACert: ca}, source.ErrAuth},
		{"no credentials", basic.URL("private.git"), &source.Credentials{CACert: ca}, source.ErrAuth},
		{"wrong token", bearer.URL("private.git"), &source.Credentials{BearerToken: "x" + canary, CACert: ca}, source.ErrAuth},
		{"basic to bearer server", bearer.URL("private.git"), &source.Credentials{Username: "alice", Password: canary, CACert: ca}, source.ErrAuth},
		{"untrusted certificate", basic.URL("private.git"), &source.Credentials{Username: "alice", Password: canary}, source.ErrHostVerification},
		{"password over http", plain.URL("private.git"), &source.Credentials{Username: "alice", Password: canary}, source.ErrCredentials},
		{"basic and bearer", basic.URL("private.git"), &source.Credentials{Username: "alice", Password: canary, BearerToken: canary, CACert: ca}, source.ErrCredentials},
		{"header injection", bearer.URL("private.git"), &source.Credentials{BearerToken: canary + "\r\nX-Evil: 1", CACert: ca}, source.ErrCredentials},
	}
	for _, tt := range failing {
		t.Run(tt.name, func(t *testing.T) {
			before := basic.Counts().Requests + bearer.Counts().Requests + plain.Counts().Requests
			_, err := c.Fetch(testContext(t), source.GitRequest{URL: tt.url, Revision: "main", Credentials: tt.creds})
			wantError(t, err, tt.want)
			_, err = c.Resolve(testContext(t), source.GitRequest{URL: tt.url, Credentials: tt.creds})
			wantError(t, err, tt.want)
			after := basic.Counts().Requests + bearer.Counts().Requests + plain.Counts().Requests
			if errors.Is(tt.want, source.ErrCredentials) && after != before {
				t.Errorf("unusable credentials reached a server (%d requests)", after-before)
			}
		})
	}
}

// TestSSH fetches over ssh with a key and known_hosts, and refuses a host
// whose key is not the one known.
func TestSSH(t *testing.T) {
	root := t.TempDir()
	sha := gitserver.NewRepo(t, root, "org/config.git").Commit("main", map[string]string{"f": "over ssh"})
	key, pub := gitserver.NewKey(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	impostor := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	otherKey, _ := gitserver.NewKey(t)
	c := newClient(t, nil)
	url := srv.URL("org/config.git")

	art := fetch(t, c, source.GitRequest{URL: url, Credentials: &source.Credentials{SSHPrivateKey: key, KnownHosts: srv.KnownHosts()}})
	if art.Commit != sha || readTree(t, art.Dir)["f"] != "over ssh" {
		t.Errorf("ssh fetch = %+v", art)
	}
	if n := srv.Counts().UploadPacks; n != 2 {
		t.Errorf("server ran %d upload-packs, want 2 (list, fetch)", n)
	}

	// The impostor's host key, claimed for the real server's address.
	wrongHosts := []byte(knownHostsFor(srv.Addr(), impostor.HostKey()))
	tests := []struct {
		name  string
		creds *source.Credentials
		want  error
	}{
		{"wrong known_hosts", &source.Credentials{SSHPrivateKey: key, KnownHosts: wrongHosts}, source.ErrHostVerification},
		{"unauthorized key", &source.Credentials{SSHPrivateKey: otherKey, KnownHosts: srv.KnownHosts()}, source.ErrAuth},
		{"no known_hosts", &source.Credentials{SSHPrivateKey: key}, source.ErrCredentials},
		{"no credentials", nil, source.ErrCredentials},
		{"garbage known_hosts", &source.Credentials{SSHPrivateKey: key, KnownHosts: []byte("not a known_hosts line\n")}, source.ErrCredentials},
		{"no key", &source.Credentials{KnownHosts: srv.KnownHosts()}, source.ErrCredentials},
		{"garbage key", &source.Credentials{SSHPrivateKey: []byte(canary), KnownHosts: srv.KnownHosts()}, source.ErrCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Fetch(testContext(t), source.GitRequest{URL: url, Credentials: tt.creds})
			wantError(t, err, tt.want)
		})
	}
	if srv.Counts().UploadPacks != 2 {
		t.Errorf("a refused attempt ran git on the server: %+v", srv.Counts())
	}
}

func knownHostsFor(addr string, key ssh.PublicKey) string {
	return "[" + hostOf(addr) + "]:" + portOf(addr) + " " + string(ssh.MarshalAuthorizedKey(key))
}

// TestCredentialsStayOutOfSight runs git through a wrapper that records its
// command lines, and checks that no credential appears in them, nor in any
// file left in the cache folder.
func TestCredentialsStayOutOfSight(t *testing.T) {
	root := t.TempDir()
	gitserver.NewRepo(t, root, "r.git").Commit("main", map[string]string{"f": "1"})
	https := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, Username: "alice", Password: canary, TLS: true})
	key, pub := gitserver.NewKey(t)
	sshd := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})

	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	argvLog := filepath.Join(bin, "argv.log")
	wrapper := filepath.Join(bin, "git")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + argvLog + "'\nexec '" + git + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	c := newClient(t, func(o *source.Options) { o.Git = wrapper; o.CacheDir = cacheDir })

	fetch(t, c, source.GitRequest{URL: https.URL("r.git"), Credentials: &source.Credentials{Username: "alice", Password: canary, CACert: https.CACert()}})
	fetch(t, c, source.GitRequest{URL: sshd.URL("r.git"), Credentials: &source.Credentials{SSHPrivateKey: key, KnownHosts: sshd.KnownHosts()}})
	_, err = c.Fetch(testContext(t), source.GitRequest{URL: https.URL("r.git"), Credentials: &source.Credentials{Username: "alice", Password: "x" + canary, CACert: https.CACert()}})
	wantError(t, err, source.ErrAuth)

	argv, err := os.ReadFile(argvLog)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets(t, string(argv))
	if !strings.Contains(string(argv), "ls-remote") || !strings.Contains(string(argv), "fetch") {
		t.Fatalf("the wrapper saw no git commands:\n%s", argv)
	}
	keyBody := strings.Split(strings.TrimSpace(string(key)), "\n")[1]
	err = filepath.WalkDir(cacheDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), keyBody) {
			t.Errorf("%s holds the ssh private key", p)
		}
		noSecrets(t, string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
