package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/test/browser"
)

// The overview of 1,000 Applications over 50 clusters keeps only the rows
// and columns in view in the page, wherever it is scrolled to: the row at
// the top of the view is there, and a cell far to the right sits under
// its cluster's heading. A click on a cell opens its Application without
// loading the page again.
//
// Recorded, not real: 1,000 Applications over 50 clusters is the scale
// the virtualised matrix is for, more than the tests' real fleet holds.
func TestOverviewRendersOnlyWhatIsInView(t *testing.T) {
	b := openOverview(t, browser.FlatFixture)

	// The window is 1400 pixels wide: 14 columns of 84 pixels beside the
	// row headings, and the matrix about 20 rows high. Counted after two
	// frames, when the matrix has caught up with its scroll position.
	bounded := func(where string) {
		t.Helper()
		got := browser.EvalAsync[[]int](b, `new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
			const rows = [...document.querySelectorAll('.matrix-row')];
			const heads = document.querySelectorAll('.matrix .colhead').length;
			const full = rows.filter((r) => `+ownedCellsJS+`.length === heads).length;
			resolve([rows.length, heads, full]);
		})))`)
		if r, h, full := got[0], got[1], got[2]; r == 0 || r > 40 || h == 0 || h > 20 || full != r {
			b.Shot("unbounded")
			t.Fatalf("%s: %d rows, %d column headings in the page, %d rows with a cell under each heading; want at most 40 rows and 20 columns, every row full", where, r, h, full)
		}
	}
	bounded("at the top")
	for _, top := range []int{3000, 17000, 33000, 100000} {
		b.Eval0(fmt.Sprintf(`document.querySelector('.matrix').scrollTop = %d`, top))
		// The first row in view is in the page, under the column headings.
		b.WaitJS(`(() => {
			const m = document.querySelector('.matrix'), r = m.getBoundingClientRect();
			const under = document.elementFromPoint(r.left + 100, r.top + 34 + 20);
			return under && under.closest('.matrix-row') != null;
		})()`, fmt.Sprintf("the rows in view at %d", top))
		bounded(fmt.Sprintf("scrolled down to %d", top))
	}

	// app-0049 runs on cluster-49, the last column: scrolled to it, its cell
	// is in the page, under its heading.
	b.Eval0(`(() => { const m = document.querySelector('.matrix'); m.scrollTop = 49 * 34; m.scrollLeft = m.scrollWidth; })()`)
	cell := `document.querySelector('a.cell[aria-label^="app-0049 on cluster-49:"]')`
	b.WaitJS(cell+` != null`, "the cell of app-0049 on cluster-49")
	bounded("scrolled to the right")
	aligned := browser.Eval[string](b, `(() => {
		const c = `+cell+`.getBoundingClientRect();
		const h = [...document.querySelectorAll('.matrix .colhead')].find((x) => x.textContent === 'cluster-49').getBoundingClientRect();
		const m = document.querySelector('.matrix').getBoundingClientRect();
		return (Math.abs((c.left + c.right) / 2 - (h.left + h.right) / 2) < 1 && c.right <= m.right && c.left >= m.left + 260) + ' ' + c.left + ' ' + h.left;
	})()`)
	if aligned[:4] != "true" {
		b.Shot("misaligned")
		t.Fatalf("the cell of app-0049 on cluster-49 is not in view under its heading (cell left, heading left): %s", aligned)
	}
	b.Shot("overview-scrolled-right")

	b.Eval0(`window.sameDocument = true`)
	b.Must("click the cell", chromedp.Click(chromedp.CSS(`a.cell[aria-label^="app-0049 on cluster-49:"]`)))
	b.WaitJS(`location.pathname === '/applications/flotilla-system/app-0049'`, "the Application's page")
	if !browser.Eval[bool](b, `window.sameDocument === true`) {
		t.Errorf("a click on a cell loaded the page again instead of routing in the page")
	}
	noProblems(t, b)
}

// ownedCellsJS answers the cells of the matrix's row r: those of the
// element that the row owns (aria-owns), beside the column of row headings.
const ownedCellsJS = `[...document.getElementById(r.getAttribute('aria-owns')).querySelectorAll('.cell')]`

// focusedJS describes the focused element of the matrix as "LABEL VISIBLE":
// its aria-label and whether its box lies whole in the matrix's view, below
// the sticky column headings, right of the sticky row headings and inside
// the window.
const focusedJS = `(() => {
	const m = document.querySelector('.matrix'), e = document.activeElement;
	if (!m.contains(e) || e === m) return 'outside ' + e.tagName + ' ' + (e.textContent || '').slice(0, 40);
	const r = e.getBoundingClientRect(), mr = m.getBoundingClientRect();
	const head = m.querySelector('.matrix-head').getBoundingClientRect();
	const left = e.classList.contains('cell') ? m.querySelector('[aria-owns~="' + e.parentElement.id + '"] .rowhead').getBoundingClientRect().right : mr.left + m.clientLeft;
	const right = mr.left + m.clientLeft + m.clientWidth, bottom = mr.top + m.clientTop + m.clientHeight;
	const ok = r.top >= head.bottom - 0.5 && r.left >= left - 0.5 && r.right <= right + 0.5 && r.bottom <= bottom + 0.5 &&
		r.top >= 0 && r.bottom <= innerHeight && r.width > 0;
	return (e.getAttribute('aria-label') || e.textContent.trim()) + ' ' + ok + ' [' + [r.left, r.top, r.right, r.bottom].map(Math.round) + ' view ' + [left, head.bottom, right, bottom].map(Math.round) + ']';
})()`

// afterFrames waits two frames: as long as a person takes at least
// between two key presses, and what the matrix needs to catch up with a
// scroll.
const afterFrames = `new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))`

// Tab walks through a row of 50 clusters cell by cell, the last cluster
// included, though the page holds only the columns in view; Shift+Tab
// walks back. Every cell that takes the focus is scrolled whole into view,
// never left under the sticky headings, and so is the last cell of the row
// above when Shift+Tab goes on to it. Tab from the matrix itself goes to
// the first row in view.
//
// Recorded, not real: 50 clusters are what column virtualisation is for.
func TestOverviewTabReachesEveryColumn(t *testing.T) {
	b := openOverview(t, browser.Fixture)

	shift := chromedp.KeyModifiers(chromedp.ModifierShift)
	press := func(key string, opts ...chromedp.KeyOption) string {
		t.Helper()
		b.Must("press", chromedp.KeyEvent(key, opts...))
		browser.EvalAsync[bool](b, afterFrames)
		return browser.Eval[string](b, focusedJS)
	}
	expect := func(got, want, step string) {
		t.Helper()
		if !strings.HasPrefix(got, want) || !strings.Contains(got, " true [") {
			b.ShotView("tab-" + step)
			t.Fatalf("%s: focused %q, want %q whole in view", step, got, want)
		}
	}
	// The row of fleet-005 at the top of the view, scrolled to the last
	// column; its heading is a link that takes the focus. Shift+Tab goes
	// to the last cell of the row above, under the column headings until
	// it is scrolled into view.
	b.Eval0(`(() => { const m = document.querySelector('.matrix'); m.scrollTop = 5 * 34; m.scrollLeft = m.scrollWidth; })()`)
	browser.EvalAsync[bool](b, afterFrames)
	b.Eval0(`document.querySelector('.matrix a[href="/fleets/flotilla-system/fleet-005"]').focus()`)
	expect(press("\t", shift), "fleet-004-cluster-49 on cluster-49:", "shift+tab to the row above")
	expect(press("\t"), "fleet fleet-005", "tab to the next row's heading")
	// Its first cell is far left of the columns in the page.
	expect(press("\t"), "fleet-005-cluster-00 on cluster-00:", "tab to the next row's first cell")
	for j := 1; j < 50; j++ {
		cl := fmt.Sprintf("cluster-%02d", j)
		expect(press("\t"), "fleet-005-"+cl+" on "+cl+":", "tab to "+cl)
	}
	// Back to the left: each cell comes out from under the row headings.
	for j := 48; j >= 0; j-- {
		cl := fmt.Sprintf("cluster-%02d", j)
		expect(press("\t", shift), "fleet-005-"+cl+" on "+cl+":", "shift+tab to "+cl)
	}
	expect(press("\t", shift), "fleet fleet-005", "shift+tab to the row heading")
	// From the matrix itself, Tab goes to the first row in view.
	b.Eval0(`(() => { const m = document.querySelector('.matrix'); m.scrollTop = 3 * 34; m.focus(); })()`)
	browser.EvalAsync[bool](b, afterFrames)
	expect(press("\t"), "fleet fleet-003", "tab from the matrix into its first row in view")
	noProblems(t, b)
}

// Screen readers learn where a rendered cell sits in the whole matrix:
// the matrix counts every row and column (aria-rowcount, aria-colcount),
// and each heading and cell carries its row's and its cluster's place
// (aria-rowindex, aria-colindex), wherever the matrix is scrolled to.
//
// Recorded, not real: 50 clusters are what column virtualisation is for.
func TestOverviewCellsCarryTheirPlace(t *testing.T) {
	b := openOverview(t, browser.Fixture)

	// Each element with a role in the matrix, as "WHAT colindex want
	// COLINDEX" when it is out of place; and the range of columns seen.
	check := `(() => {
		const m = document.querySelector('.matrix'), wrong = [];
		const place = (n) => +n.match(/cluster-(\d+)/)[1] + 2;
		if (m.getAttribute('aria-colcount') !== '51' || m.getAttribute('aria-rowcount') !== '21')
			wrong.push('matrix counts ' + m.getAttribute('aria-colcount') + ' columns, ' + m.getAttribute('aria-rowcount') + ' rows');
		const want = (what, el, col) => {
			if (el.getAttribute('aria-colindex') !== String(col)) wrong.push(what + ' aria-colindex ' + el.getAttribute('aria-colindex') + ' want ' + col);
		};
		const head = m.querySelector('.matrix-head');
		if (head.getAttribute('aria-rowindex') !== '1') wrong.push('heading row aria-rowindex ' + head.getAttribute('aria-rowindex'));
		want('corner heading', head.querySelector('.rowhead'), 1);
		const seen = [];
		for (const h of head.querySelectorAll('.colhead')) { want(h.textContent, h, place(h.textContent)); seen.push(place(h.textContent)); }
		for (const r of m.querySelectorAll('.matrix-row')) {
			const name = r.querySelector('.rowhead').title, row = +name.match(/fleet-(\d+)/)[1] + 2;
			if (r.getAttribute('aria-rowindex') !== String(row)) wrong.push(name + ' aria-rowindex ' + r.getAttribute('aria-rowindex') + ' want ' + row);
			want(name + ' heading', r.querySelector('.rowhead'), 1);
			for (const c of ` + ownedCellsJS + `) want(c.getAttribute('aria-label'), c, place(c.getAttribute('aria-label')));
		}
		return [wrong.slice(0, 5).join('; '), Math.min(...seen) + '-' + Math.max(...seen)];
	})()`
	for _, left := range []int{0, 20 * 84, 100000} {
		b.Eval0(fmt.Sprintf(`(() => { const m = document.querySelector('.matrix'); m.scrollLeft = %d; m.scrollTop = 200; })()`, left))
		browser.EvalAsync[bool](b, afterFrames)
		got := browser.Eval[[]string](b, check)
		t.Logf("scrolled to %d: columns %s in the page", left, got[1])
		if got[0] != "" {
			b.ShotView("colindex")
			t.Errorf("scrolled to %d: %s", left, got[0])
		}
	}
	// Scrolled to the far right, the columns in the page are the last ones.
	if got := browser.Eval[[]string](b, check); !strings.HasSuffix(got[1], "-51") {
		t.Errorf("scrolled to the right, the columns in the page are %s, want the last one (51) among them", got[1])
	}
	noProblems(t, b)
}

// The matrix renders the rows and columns that its own size shows: when
// the window grows or the page around the matrix narrows it, the rows and
// columns in the page follow.
//
// Recorded, not real: 1,000 rows over 50 clusters are what virtualisation
// is for.
func TestOverviewFollowsItsSize(t *testing.T) {
	b := openOverview(t, browser.FlatFixture)

	// The rows and columns in the page, and those that the matrix's size
	// calls for at the top left: what its view shows and the few beyond
	// (8 rows, 2 columns).
	counts := func() []int {
		t.Helper()
		browser.EvalAsync[bool](b, afterFrames)
		browser.EvalAsync[bool](b, afterFrames)
		return browser.Eval[[]int](b, `(() => {
			const m = document.querySelector('.matrix');
			return [m.querySelectorAll('.matrix-row').length, m.querySelectorAll('.colhead').length,
				Math.ceil(m.clientHeight / 34) + 8, Math.min(50, Math.ceil((m.clientWidth - 260) / 84) + 2), m.clientWidth, m.clientHeight];
		})()`)
	}
	follows := func(when string) []int {
		t.Helper()
		got := counts()
		if got[0] != got[2] || got[1] != got[3] {
			b.ShotView("size")
			t.Fatalf("%s: the matrix is %d×%d pixels and holds %d rows and %d columns, want %d and %d", when, got[4], got[5], got[0], got[1], got[2], got[3])
		}
		return got
	}
	at1400 := follows("in a window 1400×900")
	// The page narrows the matrix; the window stays as it is.
	b.Eval0(`document.querySelector('.matrix').style.width = '700px'`)
	narrow := follows("narrowed to 700 pixels")
	if narrow[1] >= at1400[1] {
		t.Errorf("narrowed to 700 pixels, the matrix holds %d columns, no fewer than the %d at full width", narrow[1], at1400[1])
	}
	b.Eval0(`document.querySelector('.matrix').style.width = ''`)
	follows("widened again")
	// A larger window: more rows and columns.
	b.Must("resize the window", chromedp.EmulateViewport(2200, 1300))
	large := follows("in a window 2200×1300")
	if large[0] <= at1400[0] || large[1] <= at1400[1] {
		t.Errorf("in a window 2200×1300 the matrix holds %d rows and %d columns, no more than the %d and %d in 1400×900", large[0], large[1], at1400[0], at1400[1])
	}
	noProblems(t, b)
}

// openOverview logs in to a server that answers with a recorded fleet of
// 1,000 Applications over 50 clusters, made by fixture, and waits for the
// overview's matrix.
func openOverview(t *testing.T, fixture func(apps, clusters int) (a, c, f []map[string]any)) *browser.Browser {
	t.Helper()
	apps, clusters, fleets := fixture(1000, 50)
	f := browser.NewFakeAPI(apps, clusters, fleets)
	b := browser.New(t, serveFake(t, f))
	b.Go("/login")
	login(b, f.Password)
	b.WaitJS(`document.querySelectorAll('.matrix .cell').length > 0`, "the matrix")
	return b
}

// Screen readers read the matrix as a table whose rows come in their
// order, each its heading and then its cells in the order of the columns,
// though the page reuses the rows' elements as they scroll by and keeps
// the row headings in a column of their own (the rows own their cells,
// and the rows' group owns the rows, with aria-owns). Read from Chromium's
// accessibility tree.
//
// Recorded, not real: 1,000 rows are what the reuse of rows is for.
func TestOverviewReadsAsATable(t *testing.T) {
	b := openOverview(t, browser.FlatFixture)
	for _, top := range []int{0, 5000, 5300, 2000} {
		b.Eval0(fmt.Sprintf(`document.querySelector('.matrix').scrollTop = %d`, top))
		browser.EvalAsync[bool](b, afterFrames)
		browser.EvalAsync[bool](b, afterFrames)
		rows := axRows(t, b)
		heads := browser.Eval[[]string](b, `[...document.querySelectorAll('.matrix .colhead')].map((h) => h.textContent)`)
		if len(rows) == 0 || len(rows) != browser.Eval[int](b, `document.querySelectorAll('.matrix-row').length`) {
			t.Fatalf("scrolled to %d: %d rows in the table read by screen readers, want one for each row in the page", top, len(rows))
		}
		var first int
		if _, err := fmt.Sscanf(rows[0][0], "rowheader app-%d", &first); err != nil || first > top/34 {
			t.Fatalf("scrolled to %d: the table's first row is %q, want the heading of a row at or above the view (row %d)", top, rows[0], top/34)
		}
		for k, r := range rows {
			want := []string{fmt.Sprintf("rowheader app-%04d", first+k)}
			for _, h := range heads {
				// app-NNNN runs on cluster NNNN mod 50.
				if strings.HasSuffix(h, fmt.Sprintf("%02d", (first+k)%50)) {
					want = append(want, fmt.Sprintf("cell app-%04d on %s:", first+k, h))
				} else {
					want = append(want, "cell not deployed to "+h)
				}
			}
			got := strings.Join(r, " | ")
			ok := len(r) == len(want)
			for i := 0; ok && i < len(want); i++ {
				ok = strings.HasPrefix(r[i], want[i])
			}
			if !ok {
				b.ShotView("table")
				t.Fatalf("scrolled to %d: row %d of the table reads %q, want %q", top, k, got, strings.Join(want, " | "))
			}
		}
	}
	noProblems(t, b)
}

// axRows reads the overview's table from Chromium's accessibility tree:
// for each row of its row group, the role and name of the row's heading
// and cells, in the order a screen reader reads them.
func axRows(t *testing.T, b *browser.Browser) [][]string {
	t.Helper()
	res, err := chromedp.Call(b.Ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatalf("accessibility tree: %v", err)
	}
	byID := map[accessibility.NodeID]*accessibility.Node{}
	for _, n := range res.Nodes {
		byID[n.NodeID] = n
	}
	str := func(v *accessibility.Value) string {
		if v == nil {
			return ""
		}
		var s string
		if json.Unmarshal(v.Value, &s) != nil {
			return string(v.Value)
		}
		return s
	}
	// kids are the nodes a screen reader sees under n: ignored nodes
	// (such as presentational ones) give their children instead.
	var kids func(n *accessibility.Node) []*accessibility.Node
	kids = func(n *accessibility.Node) []*accessibility.Node {
		var out []*accessibility.Node
		for _, id := range n.ChildIDs {
			c := byID[id]
			if c == nil {
				continue
			}
			if c.Ignored {
				out = append(out, kids(c)...)
			} else {
				out = append(out, c)
			}
		}
		return out
	}
	var rows [][]string
	for _, n := range res.Nodes {
		if n.Ignored || str(n.Role) != "table" || str(n.Name) != "Applications by cluster" {
			continue
		}
		for _, g := range kids(n) {
			if str(g.Role) != "rowgroup" {
				continue
			}
			for _, r := range kids(g) {
				var row []string
				for _, c := range kids(r) {
					row = append(row, str(c.Role)+" "+str(c.Name))
				}
				if str(r.Role) != "row" {
					row = append([]string{"not a row: " + str(r.Role)}, row...)
				}
				rows = append(rows, row)
			}
		}
	}
	return rows
}
