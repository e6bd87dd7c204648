package ui

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/flotilla-dev/flotilla/test/browser"
)

// docsImages, when set, is the folder that the screenshots shown in
// docs/ui.md are copied to: go test ./test/ui/ -docs-images ../../docs/images
var docsImages = flag.String("docs-images", "", "copy the screenshots of docs/ui.md into this folder")

// docShot takes a screenshot of the whole page and, with -docs-images,
// copies it there as ui-name.png.
func docShot(t *testing.T, b *browser.Browser, name string) { copyShot(t, b.Shot(name), name) }

// dialogShot is docShot of the window only: a modal dialog's backdrop
// covers the window, not the whole page.
func dialogShot(t *testing.T, b *browser.Browser, name string) { copyShot(t, b.ShotView(name), name) }

func copyShot(t *testing.T, p, name string) {
	t.Helper()
	if *docsImages == "" || p == "" {
		return
	}
	data, err := os.ReadFile(p)
	if err == nil {
		err = os.WriteFile(filepath.Join(*docsImages, "ui-"+name+".png"), data, 0o644)
	}
	if err != nil {
		t.Fatalf("copy %s for the docs: %v", name, err)
	}
}
