package ui

import (
	"context"
	"encoding/base64"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// The Application manual on dev-1, as the application page shows it.
const (
	manualPage = "/applications/flotilla-system/manual"
	manualNS   = "ui-manual"
)

// nodeButton selects the tree's node of an object by the start of its
// label ("Kind namespace/name").
func nodeButton(label string) string {
	return `document.querySelector('button.node[aria-label^="` + label + `"]')`
}

// clickTab opens a tab of the node panel.
func clickTab(b *browser.Browser, tab string) {
	b.Must("the "+tab+" tab", chromedp.Click(`//aside[contains(@class,"panel")]//button[@role="tab"][text()="`+tab+`"]`))
}

// openManual logs in as admin and opens manual's page, marked so that a
// reload shows.
func (f *fleet) openManual(t *testing.T) *browser.Browser {
	t.Helper()
	b := f.open(t)
	b.Go(manualPage)
	b.WaitText("Target revision")
	b.Eval0(`window.__notReloaded = true`)
	return b
}

// kubectl runs kubectl against dev-1, as a user of the cluster would.
func (f *fleet) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(localfleet.DefaultBinDir(), "kubectl")
	args = append([]string{"--kubeconfig", f.hub.Fleet.Kubeconfig(), "--context", "dev-1", "-n", manualNS}, args...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// The application page draws the resource tree from the workload
// cluster: each ReplicaSet a column right of its Deployment and each Pod
// right of its ReplicaSet, one edge to every node. A Secret's manifest
// shows its values masked; a Pod's log shows the lines the container
// wrote, as text.
func (f *fleet) testTreeManifestAndLogs(t *testing.T) {
	b := f.openManual(t)
	b.WaitJS(nodeButton("Deployment "+manualNS+"/web")+` && `+nodeButton("ReplicaSet "+manualNS+"/web-")+` && `+
		nodeButton("Pod "+manualNS+"/web-"), "the Deployment, its ReplicaSet and its Pod in the tree")
	columns := browser.Eval[[]float64](b, `['Deployment `+manualNS+`/web', 'ReplicaSet `+manualNS+`/web-', 'Pod `+manualNS+`/web-']
  .map((l) => document.querySelector('button.node[aria-label^="' + l + '"]').parentElement.offsetLeft)`)
	if !(columns[0] < columns[1] && columns[1] < columns[2]) {
		t.Errorf("columns of the Deployment, its ReplicaSet and its Pod: %v, want each right of its parent", columns)
	}
	if n, e := browser.Eval[int](b, `document.querySelectorAll('button.node').length`), browser.Eval[int](b, `document.querySelectorAll('svg.edges path').length`); n != e {
		t.Errorf("%d nodes and %d edges, want one edge to each node", n, e)
	}
	docShot(t, b, "application")

	b.Must("open the Secret", chromedp.Click(chromedp.CSS(`button.node[aria-label="Secret `+manualNS+`/web-credentials"]`)))
	b.WaitJS(`/^  password: "?`+regexp.QuoteMeta(live.SecretMask)+`"?$/m.test(document.querySelector("pre[aria-label='Live manifest']")?.textContent)`, "the Secret's masked value")
	for _, v := range []string{secretValue, base64.StdEncoding.EncodeToString([]byte(secretValue))} {
		if browser.Eval[bool](b, `document.body.innerText.includes("`+v+`")`) {
			t.Errorf("the Secret's value is on the page: %s", v)
		}
	}
	b.Shot("secret-masked")

	line := "manual says hello <b>not bold</b>"
	if err := f.hub.Fleet.Cluster("dev-1").AppendPodLog("web", time.Now(), line); err != nil {
		t.Fatal(err)
	}
	b.Must("open the Pod", chromedp.Click(chromedp.CSS(`button.node[aria-label^="Pod `+manualNS+`/web-"]`)))
	clickTab(b, "Logs")
	b.WaitJS(`document.querySelector("pre[aria-label='Log']")?.textContent.includes(`+strconv.Quote(line)+`)`, "the Pod's log line")
	if browser.Eval[int](b, `document.querySelectorAll("pre[aria-label='Log'] b").length`) != 0 {
		t.Errorf("the log's markup became an element")
	}
	if p := b.Path(); !strings.Contains(p, "tab=logs") || !strings.Contains(p, "node=") {
		t.Errorf("the open Pod's log has no deep link: %s", p)
	}
	docShot(t, b, "logs")
	noLowContrast(t, b, "the log panel")
	noProblems(t, b)
}

// A Deployment scaled with kubectl shows as drift on the open page (its
// node and the Application OutOfSync, without a reload), and its diff
// shows the replicas in the cluster against those in Git.
func (f *fleet) testDriftAndDiff(t *testing.T) {
	b := f.openManual(t)
	deploy := nodeButton("Deployment " + manualNS + "/web")
	b.WaitJS(deploy+`?.innerText.includes('Synced')`, "the Deployment Synced")
	f.kubectl(t, "scale", "deployment/web", "--replicas=3")
	b.WaitJS(deploy+`?.innerText.includes('OutOfSync') && document.querySelector('.app-header .sync-OutOfSync') != null`, "the drift on the page")
	if !browser.Eval[bool](b, `window.__notReloaded === true`) {
		t.Errorf("the page reloaded")
	}
	b.Must("open the Deployment", chromedp.Click(chromedp.CSS(`button.node[aria-label="Deployment `+manualNS+`/web"]`)))
	clickTab(b, "Diff")
	b.WaitJS(`[...document.querySelectorAll('pre.diff .del')].some((l) => l.textContent.includes('replicas: 3')) &&
  [...document.querySelectorAll('pre.diff .add')].some((l) => l.textContent.includes('replicas: 1'))`, "the diff of the replicas")
	docShot(t, b, "diff")
	noLowContrast(t, b, "the unified diff")
	b.Must("side by side", chromedp.Click(`//div[@aria-label="Diff layout"]/button[text()="Side by side"]`))
	b.WaitJS(`document.querySelector('.sidebyside')?.innerText.includes('replicas: 3')`, "the live side")
	b.Shot("diff-side-by-side")
	noProblems(t, b)
}

// Sync from the page applies the branch's new commit (which also undoes
// the drift): the page shows Progressing, then Synced and Healthy at the
// commit, without a reload. Rolling back to the first history entry,
// after a confirmation naming its revision, applies that revision again
// and pins it. Delete names the deletion policy before it deletes the
// Application and, with the policy Delete, its objects.
func (f *fleet) testSyncRollbackDelete(t *testing.T) {
	b := f.openManual(t)
	rev2 := f.repo.Commit(manualBranch, webFilesWith(1, "nginx:1.28"))
	b.Must("refresh", chromedp.Click(`//div[@role="toolbar"]/button[text()="Refresh"]`))
	f.waitApp(t, "manual", "compared to the new commit", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == rev2 })
	b.Eval0(`window.__seen = [];
new MutationObserver(() => { const h = document.querySelector('.app-header'); if (h) window.__seen.push(h.innerText); })
  .observe(document.querySelector('main'), {subtree: true, childList: true, attributes: true, characterData: true})`)
	b.Must("the sync dialog", chromedp.Click(`//div[@role="toolbar"]/button[text()="Sync"]`), chromedp.WaitVisible(chromedp.CSS(`dialog`)))
	b.WaitJS(`document.querySelector('dialog').innerText.includes('to cluster dev-1, namespace `+manualNS+`')`, "the dialog naming the destination")
	dialogShot(t, b, "sync-dialog")
	b.Must("sync", chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)))
	b.WaitText("Sync of manual requested.")
	b.WaitJS(`window.__seen.some((s) => s.includes('Progressing'))`, "manual Progressing")
	b.WaitJS(`document.querySelector('.app-header .sync-Synced') && document.querySelector('.app-header .health-Healthy') &&
  document.querySelector('.app-header [title="`+rev2+`"]') != null`, "manual Synced and Healthy at the new commit")
	// The header names the commit the Application is at: its message and
	// author, from the git server.
	b.WaitJS(`document.querySelector('.app-header .commit')?.textContent === `+strconv.Quote(f.commitMessage(t, rev2)+" "+commitAuthor),
		"the header with the message and author of "+rev2[:7])
	if img := f.kubectl(t, "get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas}"); img != "nginx:1.28 1" {
		t.Errorf("after the sync the Deployment is %q, want nginx:1.28 1", img)
	}

	first := int64(0)
	for _, h := range f.app(t, "manual").Status.History {
		if h.Revision == f.rev && first == 0 {
			first = h.ID
		}
	}
	if first == 0 {
		t.Fatalf("manual's history has no entry of %s", f.rev)
	}
	id := strconv.FormatInt(first, 10)
	b.Must("history", chromedp.Click(`//div[@role="toolbar"]/button[text()="History and rollback"]`), chromedp.WaitVisible(chromedp.CSS(`dialog`)))
	b.WaitJS(`document.querySelector('dialog button[aria-label="Roll back to #`+id+`"]') != null`, "history entry #"+id)
	row := `document.querySelector('dialog button[aria-label="Roll back to #` + id + `"]').closest('tr').innerText`
	if got, want := browser.Eval[string](b, row), f.commitMessage(t, f.rev); !strings.Contains(got, want) || !strings.Contains(got, commitAuthor) {
		t.Errorf("history entry #%s reads %q, want the message %q and the author %q", id, got, want, commitAuthor)
	}
	b.Shot("history")
	b.Must("choose #"+id, chromedp.Click(chromedp.CSS(`dialog button[aria-label="Roll back to #`+id+`"]`)))
	b.WaitJS(`document.querySelector('dialog').innerText.includes('history entry #`+id+`, revision `+f.rev[:7]+`')`, "the confirmation naming the revision")
	dialogShot(t, b, "rollback")
	b.Must("roll back", chromedp.Click(chromedp.CSS(`dialog button.danger`)))
	f.waitApp(t, "manual", "pinned and synced at the first commit", func(a *flotillav1.Application) bool {
		return a.Status.Pin != nil && a.Status.Pin.HistoryID == first && a.Status.Sync.Revision == f.rev && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	b.WaitText("pinned by rollback to #" + id)
	if img := f.kubectl(t, "get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "nginx:1.27" {
		t.Errorf("after the rollback the Deployment runs %q, want nginx:1.27", img)
	}
	if !browser.Eval[bool](b, `window.__notReloaded === true`) {
		t.Errorf("the page reloaded")
	}

	b.Must("the delete dialog", chromedp.Click(`//div[@role="toolbar"]/button[text()="Delete"]`), chromedp.WaitVisible(chromedp.CSS(`dialog`)))
	b.WaitJS(`document.querySelector('dialog .warning-text')?.textContent.includes('objects in cluster dev-1 stay and are no longer managed')`, "the Orphan policy named")
	b.Must("policy Delete", chromedp.Click(chromedp.CSS(`dialog input[name=policy][value=Delete]`)))
	b.WaitJS(`/Deletes the application manual and its [1-9][0-9]* objects in cluster dev-1/.test(document.querySelector('dialog .warning-text').textContent)`, "the Delete policy named")
	if browser.Eval[bool](b, `document.querySelector('dialog button[type=submit]').disabled !== true`) {
		t.Errorf("Delete is enabled before the name is typed")
	}
	b.Must("type the name", chromedp.SendKeys(chromedp.CSS(`dialog input[type=text]`), "manual"))
	dialogShot(t, b, "delete")
	noLowContrast(t, b, "the delete dialog")
	b.Must("delete", chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)))
	b.WaitJS(`location.pathname === '/applications'`, "the applications list")
	ctx := context.Background()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		err := f.hub.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "manual"}, &flotillav1.Application{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("manual not deleted in 3 minutes: %v", err)
		}
	}
	if out := f.kubectl(t, "get", "deployment/web", "service/web", "secret/web-credentials", "--ignore-not-found", "-o", "name"); out != "" {
		t.Errorf("the objects of manual are left after a delete with the policy Delete:\n%s", out)
	}
	b.WaitJS(`!document.querySelector('main').innerText.includes('manual')`, "manual gone from the list")
	noProblems(t, b)
}
