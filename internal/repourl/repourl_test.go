package repourl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want URL
	}{
		{"https://git.example.com/org/r.git", URL{Form: Scheme, Scheme: "https", Host: "git.example.com", Path: "/org/r.git"}},
		{"https://u:p@h:8443/r", URL{Form: Scheme, Scheme: "https", User: "u:p", HasUser: true, Host: "h:8443", Path: "/r"}},
		{"https://a@b@h/r", URL{Form: Scheme, Scheme: "https", User: "a@b", HasUser: true, Host: "h", Path: "/r"}},
		{"https://@h/r", URL{Form: Scheme, Scheme: "https", HasUser: true, Host: "h", Path: "/r"}},
		{"https://h/a@b", URL{Form: Scheme, Scheme: "https", Host: "h", Path: "/a@b"}},
		{`https://evil.example\@good.example/r`, URL{Form: Scheme, Scheme: "https", Host: "evil.example", Path: `\@good.example/r`}},
		{"https://h?x@y/r", URL{Form: Scheme, Scheme: "https", Host: "h", Path: "?x@y/r"}},
		{"https://[::1]:8443/r", URL{Form: Scheme, Scheme: "https", Host: "[::1]:8443", Path: "/r"}},
		{"https://h", URL{Form: Scheme, Scheme: "https", Host: "h"}},
		{"ssh://git@h:22/r", URL{Form: Scheme, Scheme: "ssh", User: "git", HasUser: true, Host: "h:22", Path: "/r"}},
		{"git@github.com:org/r.git", URL{Form: SCP, User: "git", HasUser: true, Host: "github.com", Path: "org/r.git"}},
		{"h:/srv/r", URL{Form: SCP, Host: "h", Path: "/srv/r"}},
		{"./a:b", URL{Form: Plain, Path: "./a:b"}},
		{"/srv/r", URL{Form: Plain, Path: "/srv/r"}},
		{"*", URL{Form: Plain, Path: "*"}},
		{"\uE000://h/r", URL{Form: Scheme, Scheme: "\uE000", Host: "h", Path: "/r"}},
		{"ht tp://h/r", URL{Form: SCP, Host: "ht tp", Path: "//h/r"}}, // not a scheme: scp-like, as git reads it
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Split(tt.in)); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestStringDropsUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h:8443/r": "https://h:8443/r",
		"git@github.com:org/r": "github.com:org/r",
		"/srv/r":               "/srv/r",
	} {
		if got := Split(in).String(); got != want {
			t.Errorf("Split(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultPorts(t *testing.T) {
	for _, tt := range []struct{ scheme, in, want string }{
		{"https", "h:443", "h"},
		{"https", "h:8443", "h:8443"},
		{"https", "h:", "h"},
		{"http", "h:80", "h"},
		{"http", "h:443", "h:443"},
		{"ssh", "h:22", "h"},
		{"oci", "registry:443", "registry"},
		{"https", "[::1]:443", "[::1]"},
		{"git", "h:9418", "h:9418"},
	} {
		if got := WithoutDefaultPort(tt.scheme, tt.in); got != tt.want {
			t.Errorf("WithoutDefaultPort(%s, %s) = %s, want %s", tt.scheme, tt.in, got, tt.want)
		}
	}
	if p, ok := DefaultPort("ftp"); ok {
		t.Errorf("DefaultPort(ftp) = %s", p)
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://charts.example.com/a", "https://charts.example.com/b/c.tgz", true},
		{"https://charts.example.com/a", "HTTPS://Charts.Example.com:443/a", true},
		{"http://charts.example.com", "http://charts.example.com:80/x", true},
		{"https://u:p@charts.example.com/a", "https://charts.example.com/a", true},
		{"https://[::1]:8443/a", "https://[::1]:8443/b", true},
		{"https://charts.example.com/a", "http://charts.example.com/a", false},
		{"https://charts.example.com/a", "https://charts.example.com:8443/a", false},
		{"https://charts.example.com/a", "https://charts.example.com.evil.test/a", false},
		{"https://charts.example.com/a", "https://evil.test@charts.example.com.evil.test/a", false},
		{"https://[::1]:8443/a", "https://[::1]:9443/a", false},
		{"git@charts.example.com:a", "git@charts.example.com:a", false},
		{"charts/a", "charts/a", false},
	} {
		if got := SameOrigin(tc.a, tc.b); got != tc.want {
			t.Errorf("SameOrigin(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SameOrigin(tc.b, tc.a); got != tc.want {
			t.Errorf("SameOrigin(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}
