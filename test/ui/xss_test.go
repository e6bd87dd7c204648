package ui

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// Payloads that would run if any of them reached the page as HTML or as a
// link: each sets window.__xss or opens a dialog.
var payloads = []string{
	`<script>window.__xss=1;alert("script")</script>`,
	`<img src=x onerror="window.__xss=2;alert('img')">`,
	`"><svg onload=alert("svg")>`,
	`javascript:window.__xss=3;alert("link")`,
	`data:text/html,<script>alert("data")</script>`,
}

func hostileApp() map[string]any {
	app := browser.App("flotilla-system", "hostile", "cluster-00", "", "OutOfSync", "Degraded", "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef")
	md := app["metadata"].(map[string]any)
	ann := map[string]any{"link.example.com/docs": payloads[3]}
	for i, p := range payloads {
		ann["x.example.com/p"+string(rune('0'+i))] = p
	}
	md["annotations"] = ann
	md["labels"] = map[string]any{"team": payloads[0], "url": payloads[3]}
	spec := app["spec"].(map[string]any)
	spec["source"] = map[string]any{"repoURL": payloads[3], "path": payloads[1], "targetRevision": payloads[2]}
	st := app["status"].(map[string]any)
	st["health"] = map[string]any{"status": "Degraded", "message": payloads[1]}
	st["operation"] = map[string]any{"phase": "Failed", "message": payloads[0]}
	st["conditions"] = []any{map[string]any{"type": "Ready", "status": "False", "reason": "SyncFailed", "message": payloads[2] + payloads[4]}}
	// A commit's message and author are the committer's to choose.
	st["history"] = []any{map[string]any{"id": 1, "revision": "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef", "deployedAt": "2026-12-01T10:00:00Z",
		"message": payloads[4], "author": payloads[1]}}
	return app
}

// Labels, health messages, commit messages and authors, manifests and logs
// that carry script payloads render as inert text: no dialog, no script
// run, no javascript: or data: link, nothing in the console.
//
// Recorded, not real: no API server accepts a label value with "<" in it,
// and `flotilla server` on main does not serve manifests and logs yet.
// The payloads a real fleet can carry (annotations, repository URLs,
// paths, revisions and the condition messages that repeat them) are
// tested on real parts in TestUIOnRealFleet/HostileValuesRenderInert.
func TestHostileValuesRenderInert(t *testing.T) {
	apps, clusters, fleets := browser.Fixture(12, 3)
	apps = append(apps, hostileApp())
	clusters[0]["metadata"].(map[string]any)["labels"] = map[string]any{"note": payloads[1]}
	f := browser.NewFakeAPI(apps, clusters, fleets)
	f.Tree = wire.Tree{Nodes: []wire.ResourceNode{{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Pod", Namespace: "apps", Name: "p"}, Managed: true, Sync: "Synced",
		Health: &wire.Health{Status: "Degraded", Message: payloads[1]}}}}
	f.Manifest = map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p", "annotations": map[string]any{"a": payloads[0]}}, "spec": map[string]any{"containers": []any{map[string]any{"name": payloads[1]}}}}
	f.Logs = payloads[0] + "\n" + payloads[1] + "\n"
	base := serveFake(t, f)
	b := browser.New(t, base)
	b.Go("/login")
	login(b, f.Password)
	b.WaitText("Fleet overview")

	check := func(page string) {
		t.Helper()
		if v := browser.Eval[bool](b, `window.__xss !== undefined`); v {
			t.Errorf("%s: a payload ran", page)
		}
		bad := browser.Eval[int](b, `[...document.querySelectorAll('a[href]')].filter(a => !/^https?:/.test(a.href)).length +
			document.querySelectorAll('img[src="x"], svg[onload], script:not([src]), [onerror], [onload]').length`)
		if bad != 0 {
			t.Errorf("%s: %d elements came from payloads or link elsewhere than http(s)", page, bad)
		}
	}
	b.Go("/applications/flotilla-system/hostile")
	b.WaitText("SyncFailed")
	b.WaitText(payloads[0])
	b.WaitJS(`document.querySelector('.app-header .commit')?.textContent === `+strconv.Quote(payloads[4]+" "+payloads[1]), "the commit's message and author as text")
	b.Shot("hostile-application")
	check("application")
	// The repository URL is text, not a link: clicking it goes nowhere.
	b.Must("click the repository", chromedp.Click(`//dt[text()="Repository"]/following-sibling::dd/*`))
	if p := b.Path(); p != "/applications/flotilla-system/hostile" {
		t.Errorf("clicking the repository went to %s", p)
	}
	b.Must("open the pod", chromedp.Click(chromedp.CSS(`button[aria-label="Pod apps/p"]`)))
	b.WaitText("containers:")
	check("manifest")
	b.Must("logs", chromedp.Click(`//button[@role="tab"][text()="Logs"]`))
	b.WaitText(`alert('img')`)
	b.Shot("hostile-logs")
	check("logs")
	b.Go("/applications?q=hostile")
	b.WaitText("Last sync")
	b.WaitText(payloads[4]) // the commit message
	check("applications")
	b.Go("/clusters")
	b.WaitText("note=")
	check("clusters")
	b.Go("/?q=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
	b.WaitText("No applications match")
	check("overview with a hostile search")

	if p := b.Problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
	if d := b.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs opened: %v", d)
	}
}
