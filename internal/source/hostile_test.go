package source_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// Parts of a hostile server's message that must never reach an error: a
// credential-like value at its start, and a secret far into it.
const (
	hostileToken  = "ghp_R3alLook1ngT0kenValue0123456789ab"
	hostileSecret = "far-away-secret-4f2a"
)

// hostileMessage is long, holds terminal control sequences and a fake
// credential, and ends with a secret past any reasonable excerpt.
var hostileMessage = "token=" + hostileToken + " \x1b[2J\x1b[31mACCESS DENIED\x07 call +1-555-0100 \b\b\b" +
	strings.Repeat("lorem ipsum dolor sit amet ", 400) + hostileSecret

// pktLine frames s as a git protocol packet.
func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// TestHostileServerMessage: what a git server writes (an ERR packet over
// smart HTTP, which git prints as "remote error: …", or an ssh server's
// stderr, which ssh passes through as it is) reaches the error only as a
// short, quoted, printable excerpt without credentials; the error's own
// words are Flotilla's.
func TestHostileServerMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		fmt.Fprint(w, pktLine("# service=git-upload-pack\n")+"0000"+pktLine("ERR "+hostileMessage))
	}))
	t.Cleanup(srv.Close)
	key, pub := gitserver.NewKey(t)
	sshd := gitserver.NewSSH(t, gitserver.SSHOptions{Root: t.TempDir(), AuthorizedKeys: []ssh.PublicKey{pub}, Refusal: hostileMessage + "\n"})
	c := newClient(t, nil)

	for name, req := range map[string]source.GitRequest{
		"http ERR packet": {URL: srv.URL + "/org/config.git"},
		"ssh stderr":      {URL: sshd.URL("org/config.git"), Credentials: &source.Credentials{SSHPrivateKey: key, KnownHosts: sshd.KnownHosts()}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Resolve(testContext(t), req)
			var e *source.Error
			if err == nil || !asSourceError(err, &e) {
				t.Fatalf("Resolve: %v, want a *source.Error", err)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			for _, leak := range []string{hostileToken, hostileSecret, "\x1b", "\x07", "\b"} {
				if strings.Contains(msg, leak) {
					t.Errorf("the error holds %q", leak)
				}
			}
			if len(e.Detail) > 300 {
				t.Errorf("the detail is %d bytes, want an excerpt", len(e.Detail))
			}
			if !strings.Contains(e.Detail, `git said "`) || !strings.Contains(msg, "ACCESS DENIED") {
				t.Errorf("detail %q does not quote an excerpt of the server's message", e.Detail)
			}
			for _, r := range msg {
				if r < ' ' || r > '~' && r != '…' {
					t.Fatalf("the error holds the unprintable %q", r)
				}
			}
		})
	}
}

func asSourceError(err error, target **source.Error) bool { return errors.As(err, target) }
