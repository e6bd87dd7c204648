package source

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRequestKind(t *testing.T) {
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{URL: "https://git.example/org/fleet.git"}, KindGit},
		{Request{URL: "git@git.example:org/fleet.git"}, KindGit},
		{Request{URL: "oci://registry.example/apps/web"}, KindOCI},
		{Request{URL: "oci://registry.example/charts", Chart: "web"}, KindChart},
		{Request{URL: "https://charts.example", Chart: "web"}, KindChart},
	} {
		if got := tc.req.Kind(); got != tc.want {
			t.Errorf("%+v: kind %s, want %s", tc.req, got, tc.want)
		}
	}
}

func TestSplitDigest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ in, rev, digest string }{
		{"v1.2.0", "v1.2.0", ""},
		{"", "", ""},
		{d, "", d},
		{"v1.2.0@" + d, "v1.2.0", d},
		{"1.0.0+build@" + d, "1.0.0+build", d},
		{"main", "main", ""},
	} {
		rev, digest := splitDigest(tc.in)
		if rev != tc.rev || digest != tc.digest {
			t.Errorf("splitDigest(%q) = %q, %q; want %q, %q", tc.in, rev, digest, tc.rev, tc.digest)
		}
	}
}

func TestArtifactID(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		a    *Artifact
		want string
	}{
		{&Artifact{Commit: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main"}, "0123456789abcdef0123456789abcdef01234567"},
		{&Artifact{Commit: d, Ref: "v1.2.0"}, "v1.2.0@" + d},
		{&Artifact{Commit: d}, d},
	} {
		if got := tc.a.ID(); got != tc.want {
			t.Errorf("ID of %s/%s = %q, want %q", tc.a.Ref, tc.a.Commit, got, tc.want)
		}
	}
}

// TestProviderMismatch: a Verification that cannot apply to the kind of
// source is ErrUnverified and ErrProviderMismatch, found before any
// request (the servers named here do not exist).
func TestProviderMismatch(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	keys := [][]byte{[]byte("unused")}
	for _, req := range []Request{
		{URL: "https://127.0.0.1:1/fleet.git", Verify: &Verification{Provider: VerifyCosign, Keys: keys}},
		{URL: "https://127.0.0.1:1/fleet.git", Verify: &Verification{Provider: "x509", Keys: keys}},
		{URL: "https://127.0.0.1:1/charts", Chart: "web", Verify: &Verification{Provider: VerifyCosign, Keys: keys}},
	} {
		_, err := c.Get(context.Background(), req)
		if !errors.Is(err, ErrUnverified) || !errors.Is(err, ErrProviderMismatch) {
			t.Errorf("%s %s verified by %s: %v, want ErrUnverified and ErrProviderMismatch", req.URL, req.Chart, req.Verify.Provider, err)
		}
	}
}

// TestCredentialsRule: every kind of source takes HTTP credentials by one
// rule, and refuses the same bad ones before any request (the servers
// named here do not exist), never repeating a secret.
func TestCredentialsRule(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	const secret = "s3cret-token"
	bad := []struct {
		name  string
		creds *Credentials
		plain bool // refused only over plain http
	}{
		{"basic and bearer", &Credentials{Username: "alice", Password: secret, BearerToken: secret}, false},
		{"line break", &Credentials{BearerToken: secret + "\r\nX-Injected: 1"}, false},
		{"NUL", &Credentials{Username: "alice\x00", Password: secret}, false},
		{"over plain http", &Credentials{Username: "alice", Password: secret}, true},
	}
	for _, src := range []Request{
		{URL: "https://127.0.0.1:1/fleet.git"},
		{URL: "https://127.0.0.1:1/charts", Chart: "web"},
		{URL: "oci://127.0.0.1:1/apps/web"},
		{URL: "oci://127.0.0.1:1/charts", Chart: "web"},
	} {
		for _, tc := range bad {
			req := src
			req.Credentials = tc.creds
			if tc.plain {
				if !strings.HasPrefix(req.URL, "https://") {
					continue // OCI registries are reached over https only
				}
				req.URL = "http://" + strings.TrimPrefix(req.URL, "https://")
			}
			_, err := c.Get(context.Background(), req)
			if !errors.Is(err, ErrCredentials) {
				t.Errorf("%s %s, %s: %v, want ErrCredentials", req.URL, req.Chart, tc.name, err)
			} else if strings.Contains(err.Error(), secret) {
				t.Errorf("%s %s, %s: the error repeats the secret: %v", req.URL, req.Chart, tc.name, err)
			}
		}
	}
}
