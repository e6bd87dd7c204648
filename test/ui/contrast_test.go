package ui

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// contrastJS answers the texts on the page whose colour against the
// background behind them is under WCAG AA: 4.5:1, or 3:1 for large text.
const contrastJS = `(() => {
  const parse = (c) => { const m = c.match(/[\d.]+/g) || []; return m.map(Number); };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = (el) => { for (; el; el = el.parentElement) { const c = parse(getComputedStyle(el).backgroundColor); if (c.length === 3 || c[3] === 1) return c.slice(0, 3); } return parse(getComputedStyle(document.body).backgroundColor).slice(0, 3); };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.data.trim() || !el || !el.checkVisibility() || el.closest('[disabled]')) continue;
    const s = getComputedStyle(el);
    const fg = parse(s.color).slice(0, 3), b = bg(el);
    const [l1, l2] = [lum(fg), lum(b)].sort((x, y) => y - x);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize), weight = Number(s.fontWeight);
    const need = size >= 24 || (size >= 18.66 && weight >= 700) ? 3 : 4.5;
    if (ratio < need) bad.push(n.data.trim().slice(0, 30) + ' ' + ratio.toFixed(2) + ' < ' + need);
  }
  return [...new Set(bad)];
})()`

// Every text of the overview, the applications list and an application,
// in the light and the dark theme, passes WCAG AA contrast.
//
// Recorded, not real: the page must show every status colour at once
// (Degraded, Missing, Unknown, a disconnected cluster), which a real fleet
// reaches only by breaking several clusters and sources on purpose; the
// colours are the UI's alone.
func TestUIContrastPassesAA(t *testing.T) {
	apps, clusters, fleets := browser.Fixture(60, 6)
	f := browser.NewFakeAPI(apps, clusters, fleets)
	f.Tree = sampleTree()
	f.Diff = wire.Diff{Revision: "abc"}
	b := browser.New(t, serveFake(t, f))
	b.Go("/login")
	login(b, f.Password)
	b.WaitText("Fleet overview")
	for _, scheme := range []string{"light", "dark"} {
		_, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		if err != nil {
			t.Fatalf("emulate the %s theme: %v", scheme, err)
		}
		for _, page := range []string{"/", "/applications", "/applications/flotilla-system/fleet-001-cluster-02", "/clusters", "/fleets/flotilla-system/fleet-001"} {
			b.Go(page)
			b.WaitJS(`document.querySelector('main h1') != null && !document.body.innerText.includes('Loading')`, "the page")
			if page == "/" && scheme == "dark" {
				docShot(t, b, "overview-dark")
			}
			if bad := browser.Eval[[]string](b, contrastJS); len(bad) > 0 {
				b.Shot("contrast-" + scheme)
				t.Errorf("%s theme, %s: texts under AA contrast: %v", scheme, page, bad)
			}
		}
	}
}

// noLowContrast fails the test for each text of the page under WCAG AA
// contrast, in the theme the browser has.
func noLowContrast(t *testing.T, b *browser.Browser, where string) {
	t.Helper()
	if bad := browser.Eval[[]string](b, contrastJS); len(bad) > 0 {
		b.Shot("contrast-" + where)
		t.Errorf("%s: texts under AA contrast: %v", where, bad)
	}
}
