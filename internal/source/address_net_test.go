package source_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/internal/ociserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// fakeDNS resolves the names it holds and no other: a name that works
// proves the Client used its answer.
type fakeDNS map[string][]netip.Addr

func (d fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if addrs, ok := d[host]; ok {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

var loopbackDNS = fakeDNS{
	"git.flotilla.test":      {netip.MustParseAddr("127.0.0.1")},
	"metadata.flotilla.test": {netip.MustParseAddr("169.254.169.254")},
	"mixed.flotilla.test":    {netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("127.0.0.1")},
}

// TestLoopbackRefused: without the dev option, a repository on a loopback
// address, named by IP or by a name that resolves to it, gets no request
// of any kind (git over HTTP and SSH, a Helm repository, an OCI registry),
// and the canary token in the credentials reaches nobody. The refusal
// names the address class.
func TestLoopbackRefused(t *testing.T) {
	root := t.TempDir()
	gitserver.NewRepo(t, root, "org/config.git").Commit("main", map[string]string{"f": "x"})
	gitHTTP := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root, BearerToken: canary, TLS: true})
	key, pub := gitserver.NewKey(t)
	gitSSH := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	charts := helmserver.New(t, helmserver.Options{})
	charts.AddChart(t, "web", "1.0.0", map[string]string{"web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n"})
	registry := ociserver.New(t, ociserver.Options{})
	registry.PushArtifact(t, "apps/web", "v1", guestbook)
	registry.PushChart(t, "apps", "web", "1.0.0", map[string]string{"Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n"})
	pushes := registry.Counts().Requests
	c := newClient(t, func(o *source.Options) { o.AllowLoopback, o.Resolver = false, loopbackDNS })

	byName := strings.Replace(gitHTTP.URL("org/config.git"), "127.0.0.1", "git.flotilla.test", 1)
	bearer := &source.Credentials{BearerToken: canary, CACert: gitHTTP.CACert()}
	sshCreds := &source.Credentials{SSHPrivateKey: key, KnownHosts: gitSSH.KnownHosts()}
	requests := map[string]source.Request{
		"git over http":          {URL: gitHTTP.URL("org/config.git"), Credentials: bearer},
		"git by name":            {URL: byName, Credentials: bearer},
		"git, one of two":        {URL: strings.Replace(byName, "git.flotilla", "mixed.flotilla", 1), Credentials: bearer},
		"git over ssh":           {URL: gitSSH.URL("org/config.git"), Credentials: sshCreds},
		"git over ssh, by name":  {URL: strings.Replace(gitSSH.URL("org/config.git"), "127.0.0.1", "git.flotilla.test", 1), Credentials: sshCreds},
		"helm repository":        {URL: charts.URL(), Chart: "web", Credentials: &source.Credentials{CACert: charts.CACert(), BearerToken: canary}},
		"oci artifact":           {URL: registry.URL("apps/web"), Revision: "v1", Credentials: &source.Credentials{CACert: registry.CACert(), BearerToken: canary}},
		"helm chart in registry": {URL: registry.URL("apps"), Chart: "web", Credentials: &source.Credentials{CACert: registry.CACert()}},
	}
	for name, req := range requests {
		t.Run(name, func(t *testing.T) {
			_, err := c.Get(testContext(t), req)
			wantError(t, err, source.ErrAddressRefused)
			if !strings.Contains(err.Error(), "is a loopback address") {
				t.Errorf("error %q does not name the address class", err)
			}
			_, err = c.Pin(testContext(t), req)
			wantError(t, err, source.ErrAddressRefused)
		})
	}
	if n := gitHTTP.Counts().Requests; n != 0 {
		t.Errorf("the git HTTP server got %d requests", n)
	}
	if n := gitSSH.Counts().Connections; n != 0 {
		t.Errorf("the git SSH server got %d connections", n)
	}
	if n := len(charts.Requests()); n != 0 {
		t.Errorf("the Helm repository got requests: %v", charts.Requests())
	}
	if n := registry.Counts().Requests - pushes; n != 0 {
		t.Errorf("the registry got %d requests", n)
	}
}

// TestLinkLocalAlwaysRefused: with the dev option, a cloud metadata
// address is still refused, named directly or through DNS.
func TestLinkLocalAlwaysRefused(t *testing.T) {
	c := newClient(t, func(o *source.Options) { o.Resolver = loopbackDNS })
	key, pub := gitserver.NewKey(t)
	hosts := []byte(knownHostsFor("[fd00:ec2::254]:22", pub))
	for _, req := range []source.Request{
		{URL: "http://169.254.169.254/latest/meta-data.git"},
		{URL: "http://metadata.flotilla.test/computeMetadata.git"},
		{URL: "https://[fe80::1]/r.git"},
		{URL: "https://metadata.flotilla.test/charts", Chart: "web"},
		{URL: "oci://metadata.flotilla.test/apps/web"},
		{URL: "http://0.0.0.0:8080/r.git"},
		{URL: "ssh://git@[fd00:ec2::254]/r.git", Credentials: &source.Credentials{SSHPrivateKey: key, KnownHosts: hosts}},
	} {
		_, err := c.Get(testContext(t), req)
		if !errors.Is(err, source.ErrAddressRefused) {
			t.Errorf("Get(%s): %v, want ErrAddressRefused", req.URL, err)
		}
	}
}

// TestRedirectTargetChecked: a Helm repository that is allowed redirects
// its chart download to the metadata address: the redirect is refused by
// the same rule, before any connection.
func TestRedirectTargetChecked(t *testing.T) {
	var redirected atomic.Bool
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprint(w, "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    digest: "+
				strings.Repeat("ab", 32)+"\n    urls: [charts/web-1.0.0.tgz]\n")
		case "/charts/web-1.0.0.tgz":
			redirected.Store(true)
			http.Redirect(w, r, "http://metadata.flotilla.test/latest/meta-data/iam", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(repo.Close)
	c := newClient(t, func(o *source.Options) { o.Resolver = loopbackDNS })
	_, err := c.FetchChart(testContext(t), source.ChartRequest{RepoURL: repo.URL, Chart: "web"})
	wantError(t, err, source.ErrAddressRefused)
	if !redirected.Load() || !strings.Contains(err.Error(), "is a link-local address") {
		t.Errorf("redirected: %v, error %q; want the redirect refused as link-local", redirected.Load(), err)
	}
}

// TestGitPinnedToCheckedAddress: git reaches a repository by a name only
// the Client's resolver knows, over HTTP and SSH: git connects to the
// address the Client checked, never resolving the name itself.
func TestGitPinnedToCheckedAddress(t *testing.T) {
	root := t.TempDir()
	sha := gitserver.NewRepo(t, root, "org/config.git").Commit("main", map[string]string{"f": "pinned"})
	gitHTTP := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	key, pub := gitserver.NewKey(t)
	gitSSH := gitserver.NewSSH(t, gitserver.SSHOptions{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	c := newClient(t, func(o *source.Options) { o.Resolver = loopbackDNS })

	byName := strings.Replace(gitHTTP.URL("org/config.git"), "127.0.0.1", "git.flotilla.test", 1)
	if art := fetch(t, c, source.GitRequest{URL: byName}); art.Commit != sha {
		t.Errorf("http by name: commit %s, want %s", art.Commit, sha)
	}
	sshURL := strings.Replace(gitSSH.URL("org/config.git"), "127.0.0.1", "git.flotilla.test", 1)
	hosts := []byte(knownHostsFor(strings.Replace(gitSSH.Addr(), "127.0.0.1", "git.flotilla.test", 1), gitSSH.HostKey()))
	art := fetch(t, c, source.GitRequest{URL: sshURL, Credentials: &source.Credentials{SSHPrivateKey: key, KnownHosts: hosts}})
	if art.Commit != sha {
		t.Errorf("ssh by name: commit %s, want %s", art.Commit, sha)
	}
	// known_hosts keeps to the name: the server's key listed for its IP
	// address alone does not vouch for the name.
	_, err := c.Fetch(testContext(t), source.GitRequest{URL: sshURL, Credentials: &source.Credentials{SSHPrivateKey: key, KnownHosts: gitSSH.KnownHosts()}})
	wantError(t, err, source.ErrHostVerification)
}
