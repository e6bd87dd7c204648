package ui

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/internal/server/auth/oidctest"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// ssoSecret is the OIDC client secret of the single sign-on server.
const ssoSecret = "ui-oidc-client-secret"

// ssoAdmins is a group of the provider's user (oidctest.Groups), made
// admin by the server's --admins flag.
const ssoAdmins = "team-a"

// startSSOServer starts a second `flotilla server` over the same hub,
// configured by its --oidc-* flags for a real OpenID provider on loopback
// (internal/server/auth/oidctest), with the provider's group ssoAdmins
// admin. It answers the server's URL.
func (f *fleet) startSSOServer(t *testing.T) string {
	t.Helper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ui-oidc"}, StringData: map[string]string{"clientSecret": ssoSecret}}
	if err := f.hub.Client.Create(context.Background(), sec); err != nil {
		t.Fatalf("the client secret: %v", err)
	}
	t.Cleanup(func() { _ = f.hub.Client.Delete(context.Background(), sec) })
	ca := filepath.Join(t.TempDir(), "idp.pem")
	srv, err := f.hub.StartServerWith(func(url string) []string {
		idp := oidctest.Start(t, ssoSecret, url+"/auth/callback", "")
		if err := os.WriteFile(ca, idp.CACert(), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--url", url, "--admins", "group:" + ssoAdmins,
			"--oidc-issuer", idp.Issuer, "--oidc-client-id", oidctest.ClientID, "--oidc-client-secret", sec.Name,
			"--oidc-ca-file", ca, "--oidc-name", "Test IdP"}
	})
	if err != nil {
		t.Fatalf("start flotilla server with single sign-on: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.URL
}

// A deep link while logged out offers "Log in with Test IdP"; the
// provider's own form logs the user in, and the UI opens the deep link
// with the user's name (the email claim) and the admin's buttons, which
// the user's group gives.
func (f *fleet) testSSOLogin(t *testing.T) {
	base := f.startSSOServer(t)
	b := browser.New(t, base)
	page := "/applications/flotilla-system/web-dev-1?tab=events"
	b.Go(page)
	b.WaitText("Log in with Test IdP")
	docShot(t, b, "login-sso")
	b.Must("log in with the provider", chromedp.Click(`//a[contains(@class,"sso")]`))
	b.Must("the provider's form",
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), oidctest.User),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), oidctest.Password),
	)
	if p := browser.Eval[string](b, `location.origin`); p == base {
		t.Errorf("the provider's form is served by Flotilla's server at %s", p)
	}
	b.Shot("idp-form")
	b.Must("sign in", chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.WaitText("Target revision")
	if p := b.Path(); p != page {
		t.Errorf("after the single sign-on at %s, want the deep link %s", p, page)
	}
	if u := browser.Eval[string](b, `document.querySelector('.user span')?.textContent || ''`); u != oidctest.Email {
		t.Errorf("the page names the user %q, want %q", u, oidctest.Email)
	}
	for _, label := range []string{"Sync", "History and rollback", "Delete"} {
		if !hasButton(b, label) {
			t.Errorf("a member of %s (admin) does not see %q", ssoAdmins, label)
		}
	}
	b.Shot("sso-application")
	noProblems(t, b)
}
