package source

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		stderr string
		want   error
	}{
		{"fatal: could not read Username for 'https://h': terminal prompts disabled", ErrAuth},
		{"fatal: unable to access 'https://h/r/': The requested URL returned error: 403", ErrAuth},
		{"git@h: Permission denied (publickey).\r\nfatal: Could not read from remote repository.", ErrAuth},
		{"remote: Invalid username or password.\nfatal: Authentication failed for 'https://h/r/'", ErrAuth},
		{"No ED25519 host key is known for [127.0.0.1]:1234.\nHost key verification failed.\nfatal: Could not read from remote repository.", ErrHostVerification},
		{"fatal: unable to access 'https://h/r/': SSL certificate problem: unable to get local issuer certificate", ErrHostVerification},
		{"fatal: unable to access 'https://h/r/': server certificate verification failed. CAfile: x CRLfile: none", ErrHostVerification},
		{"remote: Repository not found.\nfatal: repository 'https://h/r/' not found", ErrRepositoryNotFound},
		{"ERROR: Repository not found.\nfatal: Could not read from remote repository.", ErrRepositoryNotFound},
		{"fatal: '/srv/x' does not appear to be a git repository", ErrRepositoryNotFound},
		{"fatal: remote error: upload-pack: not our ref 0123", ErrRevisionNotFound},
		{"fatal: couldn't find remote ref refs/heads/gone", ErrRevisionNotFound},
		{"fatal: unable to access 'http://127.0.0.1:1/r/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server", ErrUnreachable},
		{"fatal: unable to access 'https://nx.invalid/r/': Could not resolve host: nx.invalid", ErrUnreachable},
		{"ssh: connect to host 127.0.0.1 port 1: Connection refused\r\nfatal: Could not read from remote repository.", ErrUnreachable},
		{"error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502", ErrUnreachable},
		{"fatal: the remote end hung up unexpectedly", ErrUnreachable},
		{"fatal: something new", ErrGit},
		{"", ErrGit},
	}
	for _, tt := range tests {
		if got := classify(tt.stderr); !errors.Is(got, tt.want) {
			t.Errorf("classify(%q) = %v, want %v", tt.stderr, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		name, stderr string
		secrets      []string
		want         string
	}{
		{
			name:   "prefixes and lines",
			stderr: "error: one\nfatal: two\n",
			want:   "one; two",
		},
		{
			name:   "remote lines dropped",
			stderr: "remote: here is the metadata body\nremote: token=abc\nfatal: Authentication failed",
			want:   "Authentication failed",
		},
		{
			name:    "secrets replaced",
			stderr:  "fatal: bad header Authorization: Bearer t0ken-canary\nfatal: t0ken-canary and cGFzcw== again",
			secrets: []string{"t0ken-canary", "cGFzcw==", ""},
			want:    "*** and *** again",
		},
		{
			name:   "userinfo masked",
			stderr: "fatal: unable to access 'https://user:hunter22@h/r/': x",
			want:   "unable to access 'https://***@h/r/': x",
		},
		{
			name:    "short secret withholds",
			stderr:  "fatal: password abc rejected",
			secrets: []string{"abc"},
			want:    "(details withheld: they may contain a credential)",
		},
		{
			name:   "unprintable",
			stderr: "fatal: bad \x1b[31mcolour\x00",
			want:   "bad ?[31mcolour?",
		},
		{
			name:   "carriage returns and last lines",
			stderr: "Receiving objects: 10%\rReceiving objects: 100%\n1\n2\n3\n4\n5\nfatal: 6",
			want:   "5; 6",
		},
		{
			name:   "credential-like values masked",
			stderr: "fatal: remote error: token=ghp_x1 password: hunter2 Bearer abc.def key AKIAIOSFODNN7EXAMPLE9 at 0123456789abcdef0123456789abcdef01234567",
			want:   "remote error: token=*** password: *** Bearer *** key *** at 0123456789abcdef0123456789abcdef01234567",
		},
		{
			name:   "long lines cut",
			stderr: "fatal: remote error: " + strings.Repeat("a", 500) + "\nfatal: Could not read from remote repository.",
			want:   "remote error: " + strings.Repeat("a", maxLineBytes-len("remote error: ")) + "…; Could not read from remote repository.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, scrub(tt.stderr, tt.secrets)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := scrub(strings.Repeat("é", 1000), nil); len(got) > maxDetailBytes+len("…") {
		t.Errorf("scrub kept %d bytes, want at most %d", len(got), maxDetailBytes)
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "fetch", URL: "https://h/r.git", Revision: "~1.2", Kind: ErrRevisionNotFound, Detail: "no tag in that semver range"},
			`git https://h/r.git (revision "~1.2"): fetch: revision not found: no tag in that semver range`},
		{&Error{Op: "resolve", URL: "https://h/r.git", Kind: ErrAuth},
			`git https://h/r.git (default branch): resolve: authentication failed`},
		{&Error{URL: `"ext::sh"`, Kind: ErrInvalidURL, Detail: "transport syntax"},
			`git "ext::sh": invalid repository URL: transport syntax`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	cancelled := asError(context.Canceled, "fetch", "u", "r")
	if !errors.Is(cancelled, context.Canceled) || errors.Is(cancelled, ErrGit) {
		t.Errorf("asError(context.Canceled) = %v: want it to be context.Canceled only", cancelled)
	}
}
