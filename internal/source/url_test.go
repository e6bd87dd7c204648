package source

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-dev/flotilla/internal/repourl"
)

func TestParseURLAccepts(t *testing.T) {
	tests := []struct {
		raw        string
		allowLocal bool
		want       remote
	}{
		{raw: "https://git.example.com/org/config.git", want: remote{
			raw: "https://git.example.com/org/config.git", scheme: "https",
			origin: "https://git.example.com/", key: "https://git.example.com/org/config.git", host: "git.example.com", port: "443"}},
		{raw: "https://Git.Example.COM:443/org/Config.git/", want: remote{
			raw: "https://Git.Example.COM:443/org/Config.git/", scheme: "https",
			origin: "https://git.example.com/", key: "https://git.example.com/org/Config.git", host: "git.example.com", port: "443"}},
		{raw: "http://127.0.0.1:8080/r.git", want: remote{
			raw: "http://127.0.0.1:8080/r.git", scheme: "http",
			origin: "http://127.0.0.1:8080/", key: "http://127.0.0.1:8080/r.git", host: "127.0.0.1", port: "8080"}},
		{raw: "https://[::1]:8443/r", want: remote{
			raw: "https://[::1]:8443/r", scheme: "https", origin: "https://[::1]:8443/", key: "https://[::1]:8443/r", host: "::1", port: "8443"}},
		{raw: "ssh://git@github.com:22/org/repo.git", want: remote{
			raw: "ssh://git@github.com:22/org/repo.git", scheme: "ssh", key: "ssh://git@github.com/org/repo.git", host: "github.com", port: "22"}},
		{raw: "ssh://host.example/~user/repo", want: remote{
			raw: "ssh://host.example/~user/repo", scheme: "ssh", key: "ssh://host.example/~user/repo", host: "host.example", port: "22"}},
		{raw: "git@github.com:org/repo.git", want: remote{
			raw: "git@github.com:org/repo.git", scheme: "ssh", key: "scp://git@github.com:org/repo.git", host: "github.com", port: "22"}},
		{raw: "host.example:/srv/repo.git", want: remote{
			raw: "host.example:/srv/repo.git", scheme: "ssh", key: "scp://host.example:/srv/repo.git", host: "host.example", port: "22"}},
		{raw: "https://dev.azure.com/org/My%20Project/_git/repo", want: remote{
			raw: "https://dev.azure.com/org/My%20Project/_git/repo", scheme: "https",
			origin: "https://dev.azure.com/", key: "https://dev.azure.com/org/My%20Project/_git/repo", host: "dev.azure.com", port: "443"}},
		{raw: "file:///srv/git/repo.git", allowLocal: true, want: remote{
			raw: "file:///srv/git/repo.git", scheme: "file", key: "file:///srv/git/repo.git"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseURL(tt.raw, tt.allowLocal)
			if err != nil {
				t.Fatalf("parseURL: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(remote{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseURLRefuses lists hostile and malformed URLs. Each must be refused
// with ErrInvalidURL, before git runs, and the message must not repeat a
// password.
func TestParseURLRefuses(t *testing.T) {
	tests := []struct {
		name, raw, reason string
	}{
		{"empty", "", "empty"},
		{"leading dash", "-oProxyCommand=touch /tmp/x", "starts with '-'"},
		{"upload-pack option", "--upload-pack=touch /tmp/x", "starts with '-'"},
		{"upload-pack option no space", "--upload-pack=touch", "starts with '-'"},
		{"ext transport", "ext::sh -c touch% /tmp/pwned", "space"},
		{"ext transport no space", "ext::sh", "transport syntax"},
		{"fd transport", "fd::17", "transport syntax"},
		{"transport with url", "https::https://host/repo", "transport syntax"},
		{"file without local", "file:///etc/passwd", "local development"},
		{"file upper case", "FILE:///etc/passwd", `scheme "FILE" not allowed`},
		{"file single slash", "file:/etc/passwd", "looks like a file URL"},
		{"file with host", "file://host/etc", "local development"},
		{"local absolute path", "/srv/repo.git", "local paths"},
		{"local relative path", "./repo", "local paths"},
		{"local parent path", "../../etc", "local paths"},
		{"git protocol", "git://host/repo", `scheme "git" not allowed`},
		{"ftp", "ftp://host/repo", `scheme "ftp" not allowed`},
		{"upper case https", "HTTPS://host/repo", `scheme "HTTPS" not allowed`},
		{"newline", "https://host/repo\n--upload-pack=x", "control character"},
		{"NUL", "https://host/re\x00po", "control character"},
		{"tab", "https://host/\trepo", "control character"},
		{"DEL", "https://host/repo\x7f", "control character"},
		{"space", "https://host/my repo", "space"},
		{"non-ASCII", "https://hóst/repo", "non-ASCII"},
		{"encoded newline", "https://host/repo%0a", "control character in path"},
		{"encoded dash segment", "https://host/%2dupload", "path segment starts with '-'"},
		{"ssh dash host", "ssh://-oProxyCommand=x/repo", "host starts with '-'"},
		{"ssh dash user", "ssh://-oProxyCommand=x@host/repo", "bad user name"},
		{"scp dash host", "-oProxyCommand=x:repo", "starts with '-'"},
		{"scp dash path", "git@host:-repo", "path starts with '-'"},
		{"scp dash user", "a@-host:repo", "host starts with '-'"},
		{"scp password", "user:secret@host:repo", "not allowed in a scp-like path"},
		{"ssh password", "ssh://git:secret@host/repo", "passwords in URLs"},
		{"https userinfo", "https://user:secret@host/repo", "credentials in http(s) URLs"},
		{"https user only", "https://user@host/repo", "credentials in http(s) URLs"},
		{"query", "https://host/repo?x=1", "character '?'"},
		{"fragment", "https://host/repo#main", "character '#'"},
		{"backslash", `https://host\@evil/repo`, `character '\\'`},
		{"quote", "https://host/re'po", `character '\''`},
		{"shell", "https://host/$(id)", "character '$'"},
		{"no host", "https:///repo", "no host"},
		{"no path", "https://host", "no repository path"},
		{"root path", "https://host/", "no repository path"},
		{"bad port", "https://host:99999/repo", "bad port"},
		{"empty port", "https://host:/repo", "empty port"},
		{"zone", "https://[fe80::1%25eth0]/repo", "has character"},
		{"scp brackets", "[::1]:repo", "transport syntax"},
		{"scp no path", "git@host:", "no repository path"},
		{"too long", "https://host/" + strings.Repeat("a", 2100), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseURL(tt.raw, false)
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("parseURL(%q) = %v, want ErrInvalidURL", tt.raw, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"https://user:pa55@host/repo":  `"https://***@host/repo"`,
		"ssh://u:p@h:22/r@x":           `"ssh://***@h:22/r@x"`,
		"user:pa55@host:repo":          `"***@host:repo"`,
		"https://host/repo":            `"https://host/repo"`,
		"ext::sh -c 'echo a\nb'":       `"ext::sh -c 'echo a\nb'"`,
		strings.Repeat("x", 300):       `"` + strings.Repeat("x", 200) + `…"`,
		"https://a:b@c@host/p?q=@x#y@": `"https://***@host/p?q=@x#y@"`,
	}
	for in, want := range tests {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzValidateURL checks that validation never panics and that whatever it
// accepts is a URL of an allowed scheme that git will read the same way: no
// option, no transport, no local path, no credentials.
func FuzzValidateURL(f *testing.F) {
	for _, seed := range []string{
		"https://git.example.com/org/config.git", "git@github.com:org/repo.git",
		"ssh://git@host:2222/repo", "file:///srv/repo", "ext::sh -c x", "--upload-pack=x",
		"-oProxyCommand=x", "fd::3", "https://u:p@h/r", "h:-x", "[::1]:r", "https://[::1]/r",
		"https://host/%0a", "file:/etc/passwd", "/local/path", "http://h:0/r",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowLocal bool) {
		r, err := parseURL(raw, allowLocal)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("parseURL(%q) = %v, want ErrInvalidURL", raw, err)
			}
			return
		}
		checkAccepted(t, raw, allowLocal, r)
	})
}

func checkAccepted(t *testing.T, raw string, allowLocal bool, r remote) {
	t.Helper()
	if r.raw != raw {
		t.Fatalf("parseURL(%q) changed the URL to %q", raw, r.raw)
	}
	if raw[0] == '-' || strings.Contains(strings.SplitN(raw, "://", 2)[0], "::") {
		t.Fatalf("accepted %q: an option or a transport", raw)
	}
	for _, c := range []byte(raw) {
		if c <= ' ' || c >= 0x7f {
			t.Fatalf("accepted %q: byte %#x", raw, c)
		}
	}
	switch r.scheme {
	case schemeHTTPS, schemeHTTP, schemeSSH:
	case schemeFile:
		if !allowLocal {
			t.Fatalf("accepted %q as file without AllowLocal", raw)
		}
	default:
		t.Fatalf("accepted %q with scheme %q", raw, r.scheme)
	}
	if !strings.Contains(raw, "://") {
		if r.scheme != schemeSSH {
			t.Fatalf("accepted %q without a scheme as %s", raw, r.scheme)
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != r.scheme {
		t.Fatalf("accepted %q: url.Parse says %v, %v", raw, u, err)
	}
	if _, hasPassword := u.User.Password(); hasPassword || (u.User != nil && r.scheme != schemeSSH) {
		t.Fatalf("accepted %q with credentials", raw)
	}
	if r.scheme != schemeFile && (u.Hostname() == "" || strings.HasPrefix(u.Hostname(), "-")) {
		t.Fatalf("accepted %q with host %q", raw, u.Hostname())
	}
}

// FuzzParseURLHost: every URL this package accepts reaches the host that
// internal/repourl (and so a Project's source rule) reads in it.
func FuzzParseURLHost(f *testing.F) {
	for _, s := range []string{"https://git.example.com/org/r.git", "ssh://git@h:2222/r", "git@github.com:org/r",
		"https://u@h/r", "https://%67ithub.com/r", "https://[::1]:443/r", `https://a\@b/r`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parseURL(raw, false)
		if err != nil {
			return
		}
		got := repourl.WithoutDefaultPort(r.scheme, strings.ToLower(repourl.Split(raw).Host))
		want := bracket(r.host)
		if p, _ := repourl.DefaultPort(r.scheme); r.port != p {
			want += ":" + r.port
		}
		if got != want {
			t.Fatalf("%q: source connects to %q, repourl reads %q", raw, want, got)
		}
	})
}

func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}
