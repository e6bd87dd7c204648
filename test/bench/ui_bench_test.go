package bench

import (
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
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
// (a stutter a user sees), the rows in the page, the machine's load average
// at the scroll, and the size of the embedded UI as served gzipped. A
// second scroll runs under Chromium's performance trace and reports where
// a frame's time goes, as CPU time per frame of each thread and phase
// ("cpu-ms-per-frame-PHASE", see scrollWork): unlike the frame intervals,
// these hardly depend on the machine's load. The API is recorded
// (test/browser.FakeAPI), so that the figures are the UI's own.
//
// FLOTILLA_BENCH_UI_BASELINE names a folder with another UI (index.html and
// assets/, such as `git archive COMMIT web | tar -x`): each sample then
// measures it too, just before the embedded UI, under the same load, and
// reports its figures with the prefix "base-".
func BenchmarkUIOverview(b *testing.B) {
	type variant struct {
		prefix string
		size   int
		br     *browser.Browser
	}
	variants := []variant{}
	if dir := os.Getenv("FLOTILLA_BENCH_UI_BASELINE"); dir != "" {
		h, br := openOverview(b, ui.Options{FS: os.DirFS(dir)})
		variants = append(variants, variant{"base-", h.CompressedSize(), br})
	}
	h, br := openOverview(b, ui.DefaultOptions())
	variants = append(variants, variant{"", h.CompressedSize(), br})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, v := range variants {
			var loads []float64
			for range 7 {
				v.br.Go("/clusters")
				v.br.Go("/")
				v.br.WaitJS(`document.querySelectorAll('a.cell').length > 0`, "the matrix")
				loads = append(loads, browser.Eval[float64](v.br, `performance.getEntriesByName('flotilla:first-matrix')[0]?.startTime || performance.now()`))
			}
			load, loadErr := loadAverage()
			frames := scrollFrames(v.br)
			sort.Float64s(loads)
			sort.Float64s(frames)
			b.ReportMetric(loads[len(loads)/2], v.prefix+"ms-first-render")
			b.ReportMetric(frames[len(frames)/2], v.prefix+"ms-scroll-frame-p50")
			b.ReportMetric(frames[len(frames)*95/100], v.prefix+"ms-scroll-frame-p95")
			b.ReportMetric(float64(longFrames(frames, 50)), v.prefix+"scroll-frames-over-50ms")
			b.ReportMetric(float64(browser.Eval[int](v.br, `document.querySelectorAll('.matrix-row').length`)), v.prefix+"rows-in-DOM")
			if loadErr == nil && v.prefix == "" {
				b.ReportMetric(load, "load-avg-1m")
			}
			work, err := scrollWork(v.br)
			if err != nil {
				b.Fatalf("trace the scroll: %v", err)
			}
			for phase, ms := range work {
				b.ReportMetric(ms, v.prefix+"cpu-ms-per-frame-"+phase)
			}
		}
	}
	for _, v := range variants {
		b.ReportMetric(float64(v.size)/1024, v.prefix+"KiB-gzipped-UI")
	}
	br.Shot("overview-1000x50")
}

// openOverview serves a UI beside the recorded API and logs in to it.
func openOverview(b testing.TB, opts ui.Options) (*ui.Handler, *browser.Browser) {
	h, err := ui.New(opts)
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
	return h, br
}

// loadAverage is the machine's load average over the last minute (Linux).
func loadAverage() (float64, error) {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(raw), " ")
	return strconv.ParseFloat(first, 64)
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
