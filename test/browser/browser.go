// Package browser drives headless Chromium (Debian's chromium, installed by
// hack/test-deps.sh) from Go tests through chromedp, for the end-to-end tests
// of the web UI. It records what a page must never do (console errors,
// uncaught exceptions, JavaScript dialogs, CSP violations) and saves a
// screenshot of each page a test visits into the artifacts folder.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with one tab.
type Browser struct {
	t    testing.TB
	Ctx  context.Context
	Base string

	mu       sync.Mutex
	problems []string
	dialogs  []string
	shots    int
}

// ExecPath finds Chromium, or skips the test with the command that
// installs it. Under CI=true a missing browser fails instead.
func ExecPath(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no chromium on PATH: run hack/test-deps.sh")
	}
	t.Skip("no chromium on PATH: run hack/test-deps.sh (as root it installs Debian's chromium)")
	return ""
}

// ArtifactsDir is FLOTILLA_ARTIFACTS, or a folder under the system's temp
// folder, kept after the test so that its screenshots can be looked at.
func ArtifactsDir(t testing.TB) string {
	dir := os.Getenv("FLOTILLA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "flotilla-artifacts")
	}
	dir = filepath.Join(dir, sanitize(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts folder: %v", err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string) string { return unsafeName.ReplaceAllString(s, "_") }

// New starts Chromium for a UI served at base. The browser ends with the
// test.
func New(t testing.TB, base string) *Browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ExecPath(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.IgnoreCertErrors,
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &Browser{t: t, Ctx: ctx, Base: strings.TrimSuffix(base, "/")}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.problem("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

func (b *Browser) problem(format string, a ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, a...))
}

// Problems are the console errors, exceptions and failed loads so far;
// allowed patterns (such as an expected 401) are left out.
func (b *Browser) Problems(allowed ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
next:
	for _, p := range b.problems {
		for _, a := range allowed {
			if strings.Contains(p, a) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

// Dialogs are the alert, confirm and prompt dialogs that opened.
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// Do runs actions with a time limit.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Must runs actions and fails the test on an error, with a screenshot.
func (b *Browser) Must(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.Do(actions...); err != nil {
		b.Shot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Go opens a path of the UI.
func (b *Browser) Go(path string) {
	b.t.Helper()
	b.Must("open "+path, chromedp.Navigate(b.Base+path))
}

// Shot saves a PNG of the whole page as NN-name.png and returns its path.
func (b *Browser) Shot(name string) string { return b.shot(name, chromedp.FullScreenshot(100)) }

// ShotView saves a PNG of what the window shows (1400×900, a modal dialog
// with its backdrop) as NN-name.png and returns its path.
func (b *Browser) ShotView(name string) string { return b.shot(name, chromedp.CaptureScreenshot()) }

func (b *Browser) shot(name string, capture chromedp.Action[[]byte]) string {
	b.mu.Lock()
	b.shots++
	n := b.shots
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(ArtifactsDir(b.t), fmt.Sprintf("%02d-%s.png", n, sanitize(name)))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	return p
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := retry(b, func(ctx context.Context) (T, error) {
		return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	})
	if err != nil {
		b.Shot("failed-eval")
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// retry runs an evaluation again when a navigation replaced the page's
// JavaScript context under it.
func retry[T any](b *Browser, run func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	for {
		v, err := run(ctx)
		if err == nil || !navigated(err) || ctx.Err() != nil {
			return v, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// navigated says whether err is an evaluation that a navigation cut short.
func navigated(err error) bool {
	return strings.Contains(err.Error(), "Cannot find context") || strings.Contains(err.Error(), "Inspected target navigated or closed")
}

// WaitText waits until the page's text contains want.
func (b *Browser) WaitText(want string) {
	b.t.Helper()
	b.WaitJS(fmt.Sprintf("document.body.innerText.includes(%q)", want), "text "+want)
}

// WaitJS waits until a JavaScript expression is true.
func (b *Browser) WaitJS(expr, what string) {
	b.t.Helper()
	_, err := retry(b, func(ctx context.Context) (bool, error) {
		return chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(45*time.Second)))
	})
	if err != nil {
		b.Shot("failed-wait")
		b.t.Fatalf("wait for %s: %v", what, err)
	}
}

// Path is the page's path and query.
func (b *Browser) Path() string {
	b.t.Helper()
	return Eval[string](b, "location.pathname + location.search")
}

// EvalAsync evaluates an expression whose value is a promise, and answers
// what the promise resolves to.
func EvalAsync[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// Eval0 evaluates an expression for its effect.
func (b *Browser) Eval0(expr string) {
	b.t.Helper()
	_ = Eval[chromedp.Void](b, expr)
}
