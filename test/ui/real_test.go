package ui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// TestUIOnRealFleet drives the UI in Chromium against a real `flotilla
// server` over real clusters, with Applications the real controller
// synced from a real git server. The last subtest restarts the server.
func TestUIOnRealFleet(t *testing.T) {
	f := startFleet(t)
	t.Run("LoginOverviewAndList", f.testLoginOverviewAndList)
	t.Run("KeyboardOnOverview", f.testKeyboardOnOverview)
	t.Run("SyncFromOutsideShowsLive", f.testSyncFromOutside)
	t.Run("TreeManifestAndLogs", f.testTreeManifestAndLogs)
	t.Run("DriftAndDiff", f.testDriftAndDiff)
	t.Run("SyncRollbackDelete", f.testSyncRollbackDelete)
	t.Run("ReadonlySeesNoWriteButtons", f.testReadonly)
	t.Run("ExpiredSessionReturnsToThePage", f.testExpiredSession)
	t.Run("HostileValuesRenderInert", f.testHostile)
	t.Run("SingleSignOn", f.testSSOLogin)
	t.Run("FleetPages", f.testFleetPages)
	t.Run("LostStreamShowsBannerAndResumes", f.testLostStream)
}

// loginAs fills the login form.
func loginAs(b *browser.Browser, user, password string) {
	b.Must("log in as "+user,
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form[aria-label="Log in"] button[type=submit]`)),
	)
}

// open starts a browser logged in as admin, on the overview.
func (f *fleet) open(t *testing.T) *browser.Browser {
	t.Helper()
	b := browser.New(t, f.srv.URL)
	b.Go("/login")
	loginAs(b, auth.AdminAccount, f.password)
	b.WaitText("Fleet overview")
	return b
}

// cellJS selects the overview's cell of an Application on a cluster.
func cellJS(app, cluster string) string {
	return `document.querySelector('a.cell[aria-label^="` + app + ` on ` + cluster + `:"]')`
}

// waitCell waits until the cell has the state's colour and shows rev.
func waitCell(b *browser.Browser, app, cluster, state, rev string) {
	c := cellJS(app, cluster)
	b.WaitJS(c+` != null && `+c+`.classList.contains('st-`+state+`') && `+c+`.textContent === '`+rev[:7]+`'`,
		app+" on "+cluster+" "+state+" at "+rev[:7])
}

func hasButton(b *browser.Browser, label string) bool {
	return browser.Eval[bool](b, `[...document.querySelectorAll('button')].some(x => x.textContent.trim() === '`+label+`')`)
}

func noProblems(t *testing.T, b *browser.Browser, allowed ...string) {
	t.Helper()
	if p := b.Problems(allowed...); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
	if d := b.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs opened: %v", d)
	}
}

// A deep link while logged out goes to the login page and back after a
// password login (a wrong password is refused); the clusters page shows
// the real clusters; the overview
// shows each Application on its cluster at the commit it synced; the list
// filters by name and refreshes a selection, which the controller handles.
func (f *fleet) testLoginOverviewAndList(t *testing.T) {
	b := browser.New(t, f.srv.URL)
	b.Go("/clusters?label=env%3Dprod")
	b.WaitText("Log in")
	if p := b.Path(); !strings.HasPrefix(p, "/login?return=") {
		t.Fatalf("logged out deep link went to %s, want the login page", p)
	}
	docShot(t, b, "login")
	loginAs(b, auth.AdminAccount, "not-the-password")
	b.WaitJS(`document.querySelector('[role=alert]') != null`, "the failed login's message")
	b.Go(b.Path()) // an empty form again, with the same return path
	loginAs(b, auth.AdminAccount, f.password)
	b.WaitText("v1.37.2")
	if p, _ := url.QueryUnescape(b.Path()); p != "/clusters?label=env=prod" {
		t.Fatalf("after the login at %s, want the deep link", p)
	}
	b.WaitText("dev-2")
	b.Go("/clusters")
	b.WaitText("dev-1")
	docShot(t, b, "clusters")

	b.Go("/")
	waitCell(b, "web-dev-1", "dev-1", "healthy", f.rev)
	waitCell(b, "web-dev-2", "dev-2", "healthy", f.rev)
	b.WaitJS(cellJS("manual", "dev-1")+`?.classList.contains('st-outofsync')`, "manual OutOfSync")
	docShot(t, b, "overview")
	b.Go("/?label=env%3Dprod")
	waitCell(b, "web-dev-2", "dev-2", "healthy", f.rev)
	if browser.Eval[bool](b, cellJS("web-dev-1", "dev-1")+` != null`) {
		t.Errorf("the overview filtered to env=prod shows web-dev-1 on dev-1")
	}

	b.Go("/applications?q=web-dev")
	b.WaitText("web-dev-2")
	if browser.Eval[bool](b, `document.querySelector('main table').innerText.includes('manual')`) {
		t.Errorf("the search web-dev lists manual")
	}
	// Each row's revision with its commit message, which the controller
	// read from the git server when it synced.
	msg := f.commitMessage(t, f.rev)
	b.WaitJS(`[...document.querySelectorAll('main table tbody tr')].find((r) => r.innerText.includes('web-dev-1'))
  ?.querySelector('.commit')?.textContent === `+strconv.Quote(msg), "web-dev-1's revision with the message "+msg)
	docShot(t, b, "applications")
	before := map[string]string{}
	for _, name := range []string{"web-dev-1", "web-dev-2"} {
		before[name] = f.app(t, name).Annotations[flotillav1.RefreshAnnotation]
	}
	b.Must("select both", chromedp.Click(chromedp.CSS(`input[aria-label="Select all shown"]`)))
	b.Must("refresh selected", chromedp.Click(`//button[text()="Refresh selected"]`), chromedp.WaitVisible(chromedp.CSS(`dialog`)))
	b.WaitText("web-dev-1 → dev-1")
	b.Shot("bulk-refresh")
	b.Must("confirm", chromedp.Click(chromedp.CSS(`dialog button.primary`)))
	b.WaitJS(`document.querySelector('dialog[open]') == null`, "the dialog to close")
	for _, name := range []string{"web-dev-1", "web-dev-2"} {
		f.waitApp(t, name, "refreshed by the UI", func(a *flotillav1.Application) bool {
			v := a.Annotations[flotillav1.RefreshAnnotation]
			return v != "" && v != before[name] && a.Status.LastHandledRefresh == v
		})
	}

	b.Go("/applications/flotilla-system/web-dev-1")
	b.WaitText("Target revision")
	b.WaitText(f.rev[:7])
	for _, label := range []string{"Sync", "Refresh", "History and rollback", "Delete"} {
		if !hasButton(b, label) {
			t.Errorf("the admin does not see %q", label)
		}
	}
	b.Shot("application")
	noProblems(t, b, "401")
}

// A sync asked for outside the browser (the annotation the CLI sets) shows
// on the open overview as Progressing, then Synced and Healthy at the
// commit, without a reload.
func (f *fleet) testSyncFromOutside(t *testing.T) {
	b := f.open(t)
	b.WaitJS(cellJS("manual", "dev-1")+` != null`, "manual's cell")
	b.Eval0(`window.__notReloaded = true; window.__seen = [];
new MutationObserver(() => { const c = ` + cellJS("manual", "dev-1") + `; if (c) window.__seen.push(c.className); })
  .observe(document.querySelector('main'), {subtree: true, childList: true, attributes: true, characterData: true})`)
	f.annotate(t, "manual", flotillav1.SyncAnnotation)
	b.WaitJS(`window.__seen.some((c) => c.includes('st-progressing'))`, "manual Progressing")
	b.Shot("sync-progressing")
	waitCell(b, "manual", "dev-1", "healthy", f.rev)
	if !browser.Eval[bool](b, `window.__notReloaded === true`) {
		t.Errorf("the page reloaded")
	}
	noProblems(t, b)
}

// A readonly user sees no write buttons, and a write forged with the
// session's CSRF token is refused with 403 and changes nothing.
func (f *fleet) testReadonly(t *testing.T) {
	b := browser.New(t, f.srv.URL)
	b.Go("/login?return=%2Fapplications%2Fflotilla-system%2Fweb-dev-1")
	loginAs(b, viewer, f.viewerPassword)
	b.WaitText("Target revision")
	b.Shot("readonly-application")
	for _, label := range []string{"Sync", "History and rollback", "Delete"} {
		if hasButton(b, label) {
			t.Errorf("readonly user sees %q", label)
		}
	}
	b.Go("/applications")
	b.WaitText("web-dev-2")
	if hasButton(b, "Sync selected") {
		t.Errorf("readonly user sees Sync selected")
	}
	status := browser.EvalAsync[int](b, `(async () => {
  const m = document.cookie.match(/flotilla_csrf=([^;]+)/);
  const r = await fetch('/api/v1/applications/flotilla-system/web-dev-1/sync', {method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': m ? decodeURIComponent(m[1]) : ''}, body: '{}'});
  return r.status;
})()`)
	if status != http.StatusForbidden {
		t.Errorf("a readonly user's forged sync answered %d, want 403", status)
	}
	if v := f.app(t, "web-dev-1").Annotations[flotillav1.SyncAnnotation]; v != "" {
		t.Errorf("the forged sync reached the hub: %s=%s", flotillav1.SyncAnnotation, v)
	}
	noProblems(t, b, "403")
}

// A session that ends while a page is open (here logged out elsewhere,
// which the server sees as an expired one does: 401) sends the user to the
// login page and, after the login, back to the page they were on.
func (f *fleet) testExpiredSession(t *testing.T) {
	b := f.open(t)
	page := "/applications/flotilla-system/web-dev-2?tab=events"
	b.Go(page)
	b.WaitText("Target revision")
	res, err := chromedp.Call(b.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{f.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	for _, c := range res.Cookies {
		if c.Name == auth.SessionCookie {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatalf("no %s cookie in the browser", auth.SessionCookie)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodDelete, f.srv.URL+"/api/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("end the session: %s", resp.Status)
	}
	// The next request fails with 401: the Refresh button's, unless the
	// stream, which the server ends with the session, got there first.
	b.Eval0(`[...document.querySelectorAll('button')].find((x) => x.textContent.trim() === 'Refresh')?.click()`)
	b.WaitText("Log in")
	if p := b.Path(); !strings.HasPrefix(p, "/login?return=") {
		t.Fatalf("after the session ended: %s, want the login page", p)
	}
	loginAs(b, auth.AdminAccount, f.password)
	b.WaitText("Target revision")
	if p := b.Path(); p != page {
		t.Errorf("after the login: %s, want %s", p, page)
	}
	noProblems(t, b, "401")
}

// When the server goes away the page shows a banner; when it is back the
// banner goes and the page follows the stream again: a new commit shows
// at its revision, without a reload.
func (f *fleet) testLostStream(t *testing.T) {
	b := f.open(t)
	waitCell(b, "web-dev-2", "dev-2", "healthy", f.rev)
	b.Eval0(`window.__notReloaded = true`)
	f.srv.Stop()
	b.WaitText("Connection to the server lost")
	b.Shot("connection-lost")
	if err := f.srv.Start(); err != nil {
		t.Fatalf("start the server again: %v", err)
	}
	b.WaitJS(`!document.body.innerText.includes("Connection to the server lost")`, "the banner to go")
	rev := f.repo.Commit("main", webFiles(2))
	f.annotate(t, "web-dev-2", flotillav1.RefreshAnnotation)
	waitCell(b, "web-dev-2", "dev-2", "healthy", rev)
	if !browser.Eval[bool](b, `window.__notReloaded === true`) {
		t.Errorf("the page reloaded")
	}
	noProblems(t, b, "EventSource", "503", "net::ERR_")
}

// Script payloads and javascript: links in an Application's annotations,
// repository URL, path and target revision (which the controller repeats
// in its condition messages) render as inert text on every page.
func (f *fleet) testHostile(t *testing.T) {
	ann := map[string]string{"link.example.com/docs": payloads[3]}
	for i, p := range payloads {
		ann["x.example.com/p"+string(rune('0'+i))] = p
	}
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hostile", Annotations: ann},
		Spec: flotillav1.ApplicationSpec{
			Project:     "default",
			Source:      flotillav1.ApplicationSource{RepoURL: payloads[3], TargetRevision: payloads[2], Path: payloads[1]},
			Destination: flotillav1.Destination{Cluster: "dev-1", Namespace: "ui-hostile"},
		},
	}
	if err := f.hub.Client.Create(context.Background(), app); err != nil {
		t.Fatalf("create the hostile application: %v", err)
	}
	t.Cleanup(func() { _ = f.hub.Client.Delete(context.Background(), app) })
	hostile := f.waitApp(t, "hostile", "refused with a message", func(a *flotillav1.Application) bool {
		for _, c := range a.Status.Conditions {
			if c.Message != "" && c.Status == metav1.ConditionFalse {
				return true
			}
		}
		return false
	})
	t.Logf("conditions: %+v", hostile.Status.Conditions)

	b := f.open(t)
	check := func(page string) {
		t.Helper()
		if browser.Eval[bool](b, `window.__xss !== undefined`) {
			t.Errorf("%s: a payload ran", page)
		}
		bad := browser.Eval[int](b, `[...document.querySelectorAll('a[href]')].filter(a => !/^https?:/.test(a.href)).length +
			document.querySelectorAll('img[src="x"], svg[onload], script:not([src]), [onerror], [onload]').length`)
		if bad != 0 {
			t.Errorf("%s: %d elements came from payloads or link elsewhere than http(s)", page, bad)
		}
	}
	b.Go("/applications/flotilla-system/hostile")
	b.WaitText(payloads[0])
	b.WaitText(payloads[3])
	b.Shot("hostile-application")
	check("application")
	b.Must("click the repository", chromedp.Click(`//dt[text()="Repository"]/following-sibling::dd/*`))
	if p := b.Path(); p != "/applications/flotilla-system/hostile" {
		t.Errorf("clicking the repository went to %s", p)
	}
	b.Go("/applications?q=hostile")
	b.WaitText("hostile")
	check("applications")
	b.Go("/")
	b.WaitJS(cellJS("hostile", "dev-1")+` != null`, "the hostile cell")
	check("overview")
	b.Go("/?q=" + url.QueryEscape(payloads[1]))
	b.WaitText("No applications match")
	check("overview with a hostile search")
	noProblems(t, b)
}
