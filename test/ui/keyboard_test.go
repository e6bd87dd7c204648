package ui

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/test/browser"
)

// The overview works from the keyboard: the first Tab shows the "skip to
// content" link; Tab reaches each cell of the matrix with a visible focus
// ring, and Enter on a cell opens its Application.
func (f *fleet) testKeyboardOnOverview(t *testing.T) {
	b := f.open(t)
	b.Go("/")
	waitCell(b, "web-dev-1", "dev-1", "healthy", f.rev)
	b.Must("tab", chromedp.KeyEvent("\t"))
	if got := browser.Eval[string](b, `document.activeElement.textContent + ' ' + (document.activeElement.getBoundingClientRect().left >= 0)`); got != "Skip to content true" {
		t.Errorf("the first Tab focused %q, want the visible skip link", got)
	}
	cell := cellJS("web-dev-1", "dev-1")
	found := false
	for range 80 {
		b.Must("tab", chromedp.KeyEvent("\t"))
		if browser.Eval[bool](b, `document.activeElement === `+cell) {
			found = true
			break
		}
	}
	if !found {
		b.Shot("keyboard-lost")
		t.Fatalf("80 Tabs did not reach the cell of web-dev-1 on dev-1")
	}
	if ring := browser.Eval[string](b, `getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`); strings.HasPrefix(ring, "none") {
		t.Errorf("the focused cell has no focus ring: outline %s", ring)
	}
	b.Shot("keyboard-focus")
	b.Must("enter", chromedp.KeyEvent("\r"))
	b.WaitJS(`location.pathname === '/applications/flotilla-system/web-dev-1'`, "Enter to open the Application")
	noProblems(t, b)
}
