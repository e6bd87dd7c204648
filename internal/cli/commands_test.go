package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cliRun runs the flotilla command line with config file cfg and stdin.
type cliRun struct {
	t   *testing.T
	cfg string
}

func (c cliRun) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut lockedBuffer
	root := NewRootCommand()
	root.SetArgs(append([]string{"--config", c.cfg}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if msg := ErrorMessage(err); msg != "" {
		errOut.Write([]byte("Error: " + msg + "\n"))
	}
	return out.String(), errOut.String(), ExitCode(err)
}

// noCanary fails when the password or the token shows in an output.
func noCanary(t *testing.T, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, secret := range []string{testPassword, testToken, testSSOCode} {
			if strings.Contains(o, secret) {
				t.Errorf("an output holds the secret %q:\n%s", secret, o)
			}
		}
	}
}

func loggedIn(t *testing.T) (*fakeAPI, cliRun) {
	t.Helper()
	f := newFakeAPI(t)
	c := cliRun{t: t, cfg: filepath.Join(t.TempDir(), "flotilla", "config.yaml")}
	out, errOut, code := c.run(testPassword+"\n", "login", f.srv.URL, "--username", "admin", "--password-stdin", "--name", "test")
	if code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	noCanary(t, out, errOut)
	return f, c
}

// TestLoginListLogout logs in with a password from stdin, lists, logs out,
// and checks the config file and every output.
func TestLoginListLogout(t *testing.T) {
	f, c := loggedIn(t)
	fi, err := os.Stat(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(c.cfg)
	if !strings.Contains(string(data), testToken) {
		t.Fatal("the token is not in the config file")
	}
	out, errOut, code := c.run("", "app", "list")
	if code != 0 || !strings.Contains(out, "guestbook") || !strings.Contains(out, "OutOfSync") {
		t.Fatalf("app list: exit %d\n%s%s", code, out, errOut)
	}
	ctxOut, _, _ := c.run("", "context")
	if !strings.Contains(ctxOut, "*         test") || !strings.Contains(ctxOut, "logged in") {
		t.Errorf("context list:\n%s", ctxOut)
	}
	out2, errOut2, code := c.run("", "logout")
	if code != 0 || !strings.Contains(out2, "Logged out of "+f.srv.URL) {
		t.Fatalf("logout: exit %d\n%s%s", code, out2, errOut2)
	}
	if !f.revoked {
		t.Error("logout did not revoke the token on the server")
	}
	data, _ = os.ReadFile(c.cfg)
	if strings.Contains(string(data), testToken) {
		t.Error("logout left the token in the config file")
	}
	_, errOut3, code := c.run("", "app", "list")
	if code == 0 || !strings.Contains(errOut3, "logged out of") {
		t.Errorf("app list after logout: exit %d: %s", code, errOut3)
	}
	noCanary(t, out, errOut, ctxOut, out2, errOut2, errOut3)
}

func TestLoginWrongPassword(t *testing.T) {
	f := newFakeAPI(t)
	c := cliRun{t: t, cfg: filepath.Join(t.TempDir(), "config.yaml")}
	_, errOut, code := c.run("nope\n", "login", f.srv.URL, "--username", "admin", "--password-stdin")
	if code == 0 || !strings.Contains(errOut, "wrong username or password") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(c.cfg); err == nil {
		t.Error("a failed login wrote the config")
	}
}

// TestLoginSSO runs the CLI's single sign-on with --no-browser: the test
// opens the printed address as a browser would, following the server's
// redirect to the CLI's loopback callback.
func TestLoginSSO(t *testing.T) {
	f := newFakeAPI(t)
	c := cliRun{t: t, cfg: filepath.Join(t.TempDir(), "config.yaml")}
	var out, errOut lockedBuffer
	root := NewRootCommand()
	root.SetArgs([]string{"--config", c.cfg, "login", f.srv.URL, "--sso", "--no-browser"})
	root.SetOut(&out)
	root.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(context.Background()) }()
	addr := regexp.MustCompile(`http://\S+/auth/login\?cli=\S+`)
	var loginURL string
	for deadline := time.Now().Add(10 * time.Second); loginURL == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		loginURL = addr.FindString(errOut.String())
	}
	if loginURL == "" {
		t.Fatalf("no login address printed:\n%s", errOut.String())
	}
	resp, err := http.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Hostname() != "127.0.0.1" {
		t.Fatalf("the browser ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(c.cfg)
	if !strings.Contains(string(data), testToken) {
		t.Error("the SSO token is not in the config")
	}
	noCanary(t, out.String(), errOut.String())
}

// TestDiffExitCodes checks `app diff`: 1 with a difference, 0 without, 2 on
// an error.
func TestDiffExitCodes(t *testing.T) {
	_, c := loggedIn(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"app", "diff", "team-a/shop"}, 1, "1 to create, 1 to update, 0 to delete"},
		{[]string{"app", "diff", "guestbook"}, 0, "No differences at revision 4f2a9c1"},
		{[]string{"app", "diff", "missing"}, 2, "application flotilla-system/missing not found"},
		{[]string{"app", "diff", "guestbook", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"app", "diff", "team-a/shop", "-o", "json"}, 1, `"action": "Update"`},
	} {
		out, errOut, code := c.run("", tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
		}
	}
}

// TestSyncWait checks that `app sync --wait` follows the stream to the
// sync's end and exits non-zero when it failed.
func TestSyncWait(t *testing.T) {
	f, c := loggedIn(t)
	out, errOut, code := c.run("", "app", "sync", "guestbook", "--wait", "--timeout", "20s")
	if code != 0 || !strings.Contains(out, "Sync of application flotilla-system/guestbook succeeded") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	f.mu.Lock()
	f.failSync["team-a/shop"] = true
	f.mu.Unlock()
	out, errOut, code = c.run("", "app", "sync", "team-a/shop", "--wait", "--timeout", "20s")
	if code == 0 || !strings.Contains(errOut, "sync of application team-a/shop failed: Deployment/web: apply failed (Invalid)") {
		t.Fatalf("a failed sync: exit %d\n%s%s", code, out, errOut)
	}
}

// TestWaitPollsAndTimesOut checks `app wait` without a stream: it reads the
// Application until it is Healthy, and fails when the timeout passes.
func TestWaitPollsAndTimesOut(t *testing.T) {
	f, c := loggedIn(t)
	f.noStream = true
	f.mu.Lock()
	f.apps["flotilla-system/guestbook"].Status.Health.Status = "Progressing"
	f.mu.Unlock()
	out, errOut, code := c.run("", "app", "wait", "guestbook", "--health", "--timeout", "20s")
	if code != 0 || !strings.Contains(out, "health Progressing") || !strings.Contains(out, "health Healthy") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = c.run("", "app", "wait", "team-a/shop", "--health", "--timeout", "300ms")
	if code == 0 || !strings.Contains(errOut, "timed out after 300ms") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestLogsOfEveryPod checks that `app logs` without --pod prints the log of
// each Pod of the tree, each line prefixed with its Pod.
func TestLogsOfEveryPod(t *testing.T) {
	_, c := loggedIn(t)
	out, errOut, code := c.run("", "app", "logs", "guestbook", "--tail", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"pod/web-5d8f-a guestbook/web-5d8f-a started\n", "pod/web-5d8f-a serving on :8080 (tail 5)\n",
		"pod/web-5d8f-b guestbook/web-5d8f-b started\n", "pod/web-5d8f-b serving on :8080 (tail 5)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in:\n%s", want, out)
		}
	}
	out, _, code = c.run("", "app", "logs", "guestbook", "--pod", "web-5d8f-a")
	if code != 0 || out != "guestbook/web-5d8f-a started\nserving on :8080 (tail )" {
		t.Errorf("one pod: exit %d, %q", code, out)
	}
}
