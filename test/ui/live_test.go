package ui

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/test/browser"
)

// A change on the stream shows without a reload; a lost stream shows a
// banner, and the page resumes when the server is back.
func TestUIFollowsTheStreamAndResumes(t *testing.T) {
	apps, clusters, fleets := browser.Fixture(12, 3)
	f := browser.NewFakeAPI(apps, clusters, fleets)
	b := browser.New(t, serveFake(t, f))
	b.Go("/login")
	login(b, f.Password)
	b.WaitText("Fleet overview")
	b.Eval0(`window.__notReloaded = true`)
	cell := `a.cell[aria-label^="fleet-000-cluster-00 on cluster-00"]`
	b.WaitJS(`document.querySelector('`+cell+`') != null`, "the cell")

	app := browser.App("flotilla-system", "fleet-000-cluster-00", "cluster-00", "fleet-000", "OutOfSync", "Progressing", "1111111111111111111111111111111111111111")
	f.Update(app)
	b.WaitJS(`document.querySelector('`+cell+`').classList.contains('st-progressing')`, "Progressing")
	app = browser.App("flotilla-system", "fleet-000-cluster-00", "cluster-00", "fleet-000", "Synced", "Healthy", "2222222222222222222222222222222222222222")
	f.Update(app)
	b.WaitJS(`document.querySelector('`+cell+`').classList.contains('st-healthy') && document.querySelector('`+cell+`').textContent === '2222222'`, "Synced and Healthy at the new revision")

	f.SetDown(true)
	b.WaitText("Connection to the server lost")
	b.Shot("connection-lost")
	f.SetDown(false)
	b.WaitJS(`!document.body.innerText.includes("Connection to the server lost")`, "the banner to go")
	f.Update(browser.App("flotilla-system", "fleet-000-cluster-00", "cluster-00", "fleet-000", "Synced", "Degraded", "2222222222222222222222222222222222222222"))
	b.WaitJS(`document.querySelector('`+cell+`').classList.contains('st-degraded')`, "an update after the reconnect")
	if !browser.Eval[bool](b, `window.__notReloaded === true`) {
		t.Errorf("the page reloaded")
	}
	if p := b.Problems("503", "EventSource"); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// An expired session sends the user to the login page and, after the
// login, back to the page they were on.
func TestUIExpiredSessionReturnsToThePage(t *testing.T) {
	apps, clusters, fleets := browser.Fixture(12, 3)
	f := browser.NewFakeAPI(apps, clusters, fleets)
	b := browser.New(t, serveFake(t, f))
	b.Go("/login")
	login(b, f.Password)
	page := "/applications/flotilla-system/fleet-001-cluster-02?tab=events"
	b.Go(page)
	b.WaitJS(`document.querySelector('.graph') != null`, "the tree")
	f.Expire()
	b.Must("refresh", chromedp.Click(`//button[text()="Refresh"]`))
	b.WaitText("Log in")
	if p := b.Path(); !strings.HasPrefix(p, "/login?return=") {
		t.Fatalf("after the session expired: %s", p)
	}
	login(b, f.Password)
	b.WaitText("Target revision")
	if p := b.Path(); p != page {
		t.Errorf("after the login: %s, want %s", p, page)
	}
	if p := b.Problems("401"); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// A user whose verbs are only reads sees no write buttons.
func TestUIReadonlySeesNoWriteButtons(t *testing.T) {
	apps, clusters, fleets := browser.Fixture(12, 3)
	f := browser.NewFakeAPI(apps, clusters, fleets)
	f.Verbs = map[string][]string{"*": {"applications:get", "logs:get", "clusters:get", "fleets:get", "projects:get"}}
	b := browser.New(t, serveFake(t, f))
	b.Go("/login")
	login(b, f.Password)
	b.Go("/applications/flotilla-system/fleet-001-cluster-02")
	b.WaitText("Target revision")
	b.Shot("readonly-application")
	for _, label := range []string{"Sync", "History and rollback", "Delete"} {
		if browser.Eval[bool](b, `[...document.querySelectorAll('button')].some(x => x.textContent.trim() === '`+label+`')`) {
			t.Errorf("readonly user sees %q", label)
		}
	}
	b.Go("/applications")
	b.WaitText("Last sync")
	if browser.Eval[bool](b, `[...document.querySelectorAll('button')].some(x => x.textContent.trim() === 'Sync selected')`) {
		t.Errorf("readonly user sees Sync selected")
	}
}
