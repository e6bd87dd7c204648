package source

import (
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

func TestCheckVerify(t *testing.T) {
	v := func(p string) *Verification { return &Verification{Provider: p} }
	for _, tc := range []struct {
		req Request
		ok  bool
	}{
		{Request{URL: "https://git.example/fleet.git"}, true},
		{Request{URL: "https://git.example/fleet.git", Verify: v(VerifySSH)}, true},
		{Request{URL: "https://git.example/fleet.git", Verify: v(VerifyGPG)}, true},
		{Request{URL: "https://git.example/fleet.git", Verify: v(VerifyCosign)}, false},
		{Request{URL: "oci://registry.example/apps/web", Verify: v(VerifyCosign)}, true},
		{Request{URL: "oci://registry.example/apps/web", Verify: v(VerifySSH)}, false},
		{Request{URL: "oci://registry.example/charts", Chart: "web", Verify: v(VerifyCosign)}, true},
		{Request{URL: "oci://registry.example/charts", Chart: "web", Verify: v(VerifyGPG)}, false},
		{Request{URL: "https://charts.example", Chart: "web", Verify: v(VerifyCosign)}, false},
		{Request{URL: "https://charts.example", Chart: "web"}, true},
	} {
		err := tc.req.CheckVerify()
		if (err == nil) != tc.ok {
			t.Errorf("%s %s verify %v: error %v, want ok=%v", tc.req.URL, tc.req.Chart, tc.req.Verify, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnverified) {
			t.Errorf("%v is not ErrUnverified", err)
		}
	}
}
