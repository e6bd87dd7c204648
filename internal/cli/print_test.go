package cli

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// TestGoldenOutput prints fixed objects in each format and compares them
// with the golden files.
func TestGoldenOutput(t *testing.T) {
	views := map[string]func() view{
		"apps":     func() view { return appsView(fixtureApps(), fixedNow) },
		"clusters": func() view { return clustersView(fixtureClusters(), fixedNow) },
		"fleets":   func() view { return fleetsView(fixtureFleets(), fixedNow) },
		"fleet":    func() view { return fleetDetailView(fixtureFleetDetail(), fixedNow) },
		"projects": func() view { return projectsView(fixtureProjects(), fixedNow) },
		"history":  func() view { return historyView(fixtureHistory(), fixedNow) },
		"tree":     func() view { return treeView(fixtureTree()) },
	}
	for name, v := range views {
		for _, format := range []string{formatTable, formatWide, formatYAML, formatName} {
			t.Run(name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := printView(&buf, format, v()); err != nil {
					t.Fatal(err)
				}
				golden(t, name+"."+format, buf.Bytes())
			})
		}
	}
}

// TestGoldenDetail prints the `get` views of one object.
func TestGoldenDetail(t *testing.T) {
	apps, clusters, projects := fixtureApps(), fixtureClusters(), fixtureProjects()
	cases := map[string]func(w io.Writer) error{
		"app-get.txt":        func(w io.Writer) error { return printAppDetail(w, &apps[0], fixedNow, false) },
		"app-get-pinned.txt": func(w io.Writer) error { return printAppDetail(w, &apps[1], fixedNow, true) },
		"cluster-get.txt":    func(w io.Writer) error { return printClusterDetail(w, &clusters[0], fixedNow) },
		"project-get.txt":    func(w io.Writer) error { return printProjectDetail(w, &projects[1], fixedNow) },
		"diff.txt": func(w io.Writer) error {
			_, err := printDiff(w, fixtureDiff())
			return err
		},
	}
	for name, print := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := print(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, name, buf.Bytes())
		})
	}
}

// `app get` shows the commit of the revision the Application is synced to,
// from its history, as plain text on one line: a message with terminal
// escape sequences or more lines cannot act on the terminal or add lines.
func TestAppDetailCommit(t *testing.T) {
	app := fixtureApps()[0]
	app.Status.History = append(app.Status.History, flotillav1.HistoryEntry{ID: 3, Revision: app.Status.Sync.Revision,
		Message: "web: \x1b]0;owned\x07colour \x1b[31mred\rfake: line\nsecond line", Author: "Eve\x1b[2J <eve@example.com>"})
	var buf bytes.Buffer
	if err := printAppDetail(&buf, &app, fixedNow, false); err != nil {
		t.Fatal(err)
	}
	var commit string
	for line := range strings.Lines(buf.String()) {
		if strings.HasPrefix(line, "Commit:") {
			commit = line
		}
	}
	want := "Commit:        web: ]0;owned colour [31mred fake: line (Eve [2J <eve@example.com>)\n"
	if commit != want {
		t.Errorf("commit line %q, want %q", commit, want)
	}

	app.Status.Sync.Revision = sha2 + "0" // no history entry of its own: no commit line
	buf.Reset()
	if err := printAppDetail(&buf, &app, fixedNow, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Commit:") {
		t.Errorf("a revision without a history entry shows a commit:\n%s", buf.String())
	}
}

func TestUnknownFormat(t *testing.T) {
	err := printView(io.Discard, "xml", appsView(fixtureApps(), fixedNow))
	if err == nil || err.Error() != `unknown output format "xml": use table, wide, name, json, yaml` {
		t.Fatalf("err = %v", err)
	}
}
