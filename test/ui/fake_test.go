package ui

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/internal/server/ui"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// The recorded API (test/browser.FakeAPI) serves only the tests that need
// states a real fleet cannot hold; each says why in its comment.

// serveFake serves the embedded UI beside recorded API answers.
func serveFake(t *testing.T, f *browser.FakeAPI) string {
	t.Helper()
	h, err := ui.New(ui.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.Register(mux)
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func login(b *browser.Browser, password string) {
	b.Must("log in",
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form[aria-label="Log in"] button[type=submit]`)),
	)
}

func sampleTree() wire.Tree {
	return wire.Tree{Nodes: []wire.ResourceNode{
		{ObjectRef: wire.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "web", UID: "d1"}, Managed: true, Sync: "OutOfSync", Health: &wire.Health{Status: "Healthy"}},
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Service", Namespace: "apps", Name: "web", UID: "s1"}, Managed: true, Sync: "Synced", Health: &wire.Health{Status: "Healthy"}},
		{ObjectRef: wire.ObjectRef{Group: "apps", Version: "v1", Kind: "ReplicaSet", Namespace: "apps", Name: "web-5d9f", UID: "r1"}, Parents: []wire.ObjectRef{{Group: "apps", Kind: "Deployment", Namespace: "apps", Name: "web", UID: "d1"}}, Health: &wire.Health{Status: "Healthy"}},
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Pod", Namespace: "apps", Name: "web-5d9f-abcde", UID: "p1"}, Parents: []wire.ObjectRef{{Group: "apps", Kind: "ReplicaSet", Namespace: "apps", Name: "web-5d9f", UID: "r1"}}, Health: &wire.Health{Status: "Healthy"}},
	}}
}
