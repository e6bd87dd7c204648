package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/auth/oidctest"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// ssoClientSecret is the OIDC client secret of TestCLISSOLogin's server; no
// output of the CLI and no line of the server's log may show it.
const ssoClientSecret = "canary-cli-oidc-client-secret-5d1b"

// TestCLISSOLogin logs the CLI in through single sign-on, end to end: a
// `flotilla server` configured by its --oidc flags for a real OpenID
// provider on loopback, `flotilla login --sso --no-browser`, and a browser
// that opens the printed address and logs in at the provider. The session
// carries the provider's groups, mapped to a Project role: the user sees
// and syncs that Project's Application, and nothing of another Project. A
// login the server refuses (an expired ID token) ends the CLI at once with
// the cause.
func TestCLISSOLogin(t *testing.T) {
	admin := adminToken(t)
	apiProject(t, admin, "clisso-a", []flotillav1.ProjectRole{{Name: "dev", Groups: []string{"team-a"},
		Policies: []string{"applications:get", "applications:sync"}}})
	apiProject(t, admin, "clisso-b", nil)
	createAPIApp(t, admin, apiApp("clisso-a1", "clisso-a", nil, idleSpec("clisso-a-web")))
	createAPIApp(t, admin, apiApp("clisso-b1", "clisso-b", nil, idleSpec("clisso-b-web")))
	env.CreateSecret(t, "clisso-oidc", map[string][]byte{"clientSecret": []byte(ssoClientSecret)})

	var idp *oidctest.Provider
	idpCA := filepath.Join(t.TempDir(), "idp.pem")
	srv, err := env.StartServerWith(func(url string) []string {
		idp = oidctest.Start(t, ssoClientSecret, url+"/auth/callback", "")
		if err := os.WriteFile(idpCA, idp.CACert(), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--url", url, "--oidc-issuer", idp.Issuer, "--oidc-client-id", oidctest.ClientID,
			"--oidc-client-secret", "clisso-oidc", "--oidc-ca-file", idpCA, "--oidc-name", "Test IdP"}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, serverCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, config: filepath.Join(t.TempDir(), "flotilla", "config.yaml")}

	out, errOut, page, code := ssoLogin(t, c, srv, ca, idp)
	if code != 0 || !strings.Contains(out, "Logged in to "+srv.URL+" as "+oidctest.Email) {
		t.Fatalf("login --sso: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(page, "You are logged in to Flotilla") || strings.Contains(page, "refused") {
		t.Errorf("the browser's page after a login: %q; want it to say the login succeeded", page)
	}
	if got := c.ok("application/clisso-a1", "app", "list", "-o", "name"); got != "application/clisso-a1\n" {
		t.Errorf("the SSO user lists %q, want the Application of its Project alone", got)
	}
	c.ok("Sync of application flotilla-system/clisso-a1 requested", "app", "sync", "clisso-a1")
	for _, args := range [][]string{{"app", "get", "clisso-b1"}, {"app", "sync", "clisso-b1"}} {
		if out, errOut, code := c.run("", args...); code == 0 || !strings.Contains(errOut, "not found") {
			t.Errorf("%s: exit %d, want refused as not found\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	if out, errOut, code := c.run("", "app", "delete", "clisso-a1"); code == 0 || !strings.Contains(errOut, "permission denied: applications:delete") {
		t.Errorf("app delete without the verb: exit %d, want permission denied\n%s%s", code, out, errOut)
	}
	env.WaitApp(t, "clisso-a1", time.Minute, "asked to sync", func(a *flotillav1.Application) bool {
		return a.Annotations[flotillav1.SyncAnnotation] != "" || a.Status.Operation != nil
	})
	c.ok("Logged out of "+srv.URL, "logout")

	// The provider issues an ID token that has expired: the server refuses
	// it and the CLI says why, without waiting for its own timeout.
	idp.SetIDTokenTTL(-time.Hour)
	t.Cleanup(func() { idp.SetIDTokenTTL(0) })
	out, errOut, page, code = ssoLogin(t, c, srv, ca, idp)
	if code == 0 || !strings.Contains(errOut, "the login failed") || !strings.Contains(errOut, "expired") {
		t.Errorf("login --sso with an expired ID token: exit %d, want a failure naming the expiry\n%s%s", code, out, errOut)
	}
	if !strings.Contains(page, "The login was refused") || !strings.Contains(page, "expired") || strings.Contains(page, "logged in") {
		t.Errorf("the browser's page after a refused login: %q; want it to say it was refused and why", page)
	}

	if strings.Contains(c.seen.String(), ssoClientSecret) {
		t.Error("the client secret appears in the CLI's output")
	}
	if strings.Contains(srv.Log(), ssoClientSecret) {
		t.Error("the client secret appears in the server's log")
	}
}

// ssoLogin runs `flotilla login --sso --no-browser` and, as its user would,
// opens the address it prints in a browser and logs in at the provider. It
// answers the CLI's output, the page the browser shows and the exit code.
func ssoLogin(t *testing.T, c *cli, srv *harness.Server, ca string, idp *oidctest.Provider) (string, string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, flotillaBin, "--config", c.config, "login", srv.URL, "--sso", "--no-browser",
		"--certificate-authority", ca, "--name", "sso")
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The address is the first line of the prompt that starts with https.
	var errOut bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stderr, &errOut))
	var loginURL string
	for loginURL == "" && sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "https://") {
			loginURL = line
		}
	}
	if loginURL == "" {
		_ = cmd.Wait()
		t.Fatalf("login --sso printed no address to open:\n%s", errOut.String())
	}
	rest := make(chan struct{}) // the rest of the output, up to the CLI's exit
	go func() {
		defer close(rest)
		for sc.Scan() {
		}
	}()
	browser := ssoBrowser(t, idp)
	resp, err := browser.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), idp.LoginPage()) {
		t.Fatalf("the address led to %s (%d), want the provider's login page", resp.Request.URL, resp.StatusCode)
	}
	resp, err = idp.Login(browser, resp.Request.URL.Query().Get("authRequestID"), oidctest.User, oidctest.Password)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	<-rest
	err = cmd.Wait()
	code := 0
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("login --sso: %v", err)
	}
	c.mu.Lock()
	c.seen.Write(out.Bytes())
	c.seen.Write(errOut.Bytes())
	c.seen.Write(page)
	c.mu.Unlock()
	return out.String(), errOut.String(), string(page), code
}

// ssoBrowser is a browser: it keeps cookies, follows redirects and trusts
// the server's and the provider's certificates.
func ssoBrowser(t *testing.T, idp *oidctest.Provider) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(serverCA(t))
	pool.AddCert(idp.Server.Certificate())
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}
