package bench

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/internal/server/ui"
	"github.com/flotilla-dev/flotilla/test/browser"
)

// BenchmarkUIOverview opens the fleet overview with 1,000 Applications over
// 50 clusters (1,000 rows × 50 columns) in headless Chromium, logged in,
// and reports the median time from the start of the navigation to the
// first frame that shows the matrix's cells (of 7 loads, assets cached), the
// median and 95th percentile frame intervals while scrolling through all
// 1,000 rows in 120 frames and how many of those frames took over 50 ms
// (a stutter a user sees), the rows in the page, and the size of the embedded UI
// as served gzipped. The API is recorded (test/browser.FakeAPI), so that the
// figure is the UI's own.
func BenchmarkUIOverview(b *testing.B) {
	h, err := ui.New(ui.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	apps, clusters, fleets := browser.FlatFixture(1000, 50)
	f := browser.NewFakeAPI(apps, clusters, fleets)
	mux := http.NewServeMux()
	f.Register(mux)
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	// Registered before the browser's, so it runs after the browser (and
	// its event stream) is gone.
	b.Cleanup(srv.Close)
	br := browser.New(b, srv.URL)
	br.Go("/login")
	br.Must("log in",
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), f.Password),
		chromedp.Click(chromedp.CSS(`form[aria-label="Log in"] button[type=submit]`)),
	)
	br.WaitText("Fleet overview")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var loads []float64
		for range 7 {
			br.Go("/clusters")
			br.Go("/")
			br.WaitJS(`document.querySelectorAll('a.cell').length > 0`, "the matrix")
			loads = append(loads, browser.Eval[float64](br, `performance.getEntriesByName('flotilla:first-matrix')[0]?.startTime || performance.now()`))
		}
		frames := scrollFrames(br)
		sort.Float64s(loads)
		sort.Float64s(frames)
		b.ReportMetric(loads[len(loads)/2], "ms-first-render")
		b.ReportMetric(frames[len(frames)/2], "ms-scroll-frame-p50")
		b.ReportMetric(frames[len(frames)*95/100], "ms-scroll-frame-p95")
		b.ReportMetric(float64(longFrames(frames, 50)), "scroll-frames-over-50ms")
		b.ReportMetric(float64(browser.Eval[int](br, `document.querySelectorAll('.matrix-row').length`)), "rows-in-DOM")
	}
	b.ReportMetric(float64(h.CompressedSize())/1024, "KiB-gzipped-UI")
	br.Shot("overview-1000x50")
}

// scrollFrames scrolls the matrix from top to bottom in 120 frames and
// answers the intervals between the frames, in milliseconds.
func scrollFrames(br *browser.Browser) []float64 {
	return browser.EvalAsync[[]float64](br, `new Promise((resolve) => {
		const m = document.querySelector('.matrix');
		let last = performance.now(), frames = [], n = 0;
		const step = (t) => {
			frames.push(t - last); last = t;
			m.scrollTop += m.scrollHeight / 120;
			if (++n < 120) requestAnimationFrame(step); else resolve(frames);
		};
		requestAnimationFrame((t) => { last = t; requestAnimationFrame(step); });
	})`)
}

// longFrames counts the frame intervals over ms milliseconds.
func longFrames(frames []float64, ms float64) int {
	n := 0
	for _, f := range frames {
		if f > ms {
			n++
		}
	}
	return n
}
