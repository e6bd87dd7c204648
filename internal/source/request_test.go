package source

import (
	"context"
	"errors"
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
