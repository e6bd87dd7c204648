package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"github.com/flotilla-dev/flotilla/test/browser"
)

// scrollWork scrolls the matrix as scrollFrames does, under Chromium's
// performance trace, and answers where a frame's time went: the CPU time
// of each thread (not the wall time, which waits for a core on a loaded
// machine), in milliseconds per frame, by the phases of the trace:
//
//   - main: the renderer's main thread, all of it;
//   - script, style, layout, prepaint, paint, layerize, commit: its phases
//     (FunctionCall, UpdateLayoutTree, Layout, PrePaint, Paint, Layerize,
//     Commit);
//   - raster: the raster workers (software, no GPU);
//   - display: the display compositor, which draws each frame.
func scrollWork(br *browser.Browser) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(br.Ctx, 2*time.Minute)
	defer cancel()
	var (
		mu     sync.Mutex
		events []traceEvent
	)
	collected := chromedp.Events(ctx, tracing.DataCollected)
	complete := chromedp.Events(ctx, tracing.TracingComplete)
	done := make(chan struct{})
	go func() {
		for ev, err := range collected {
			if err != nil {
				return
			}
			mu.Lock()
			for _, v := range ev.Value {
				var e traceEvent
				if json.Unmarshal(v, &e) == nil {
					events = append(events, e)
				}
			}
			mu.Unlock()
		}
	}()
	go func() {
		defer close(done)
		for range complete {
			return
		}
	}()
	categories := []string{"__metadata", "toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "cc", "viz"}
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{IncludedCategories: categories}}); err != nil {
		return nil, fmt.Errorf("start the trace: %w", err)
	}
	br.Eval0(`document.querySelector('.matrix').scrollTop = 0`)
	frames := scrollFrames(br)
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		return nil, fmt.Errorf("end the trace: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("the trace did not complete: %w", ctx.Err())
	}
	// The last batch of events comes before the completion; the lock
	// waits for the collector to finish it.
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	threads := map[[2]int]string{}
	for _, e := range events {
		if e.Ph == "M" && e.Name == "thread_name" {
			var a struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(e.Args, &a) == nil {
				threads[[2]int{e.Pid, e.Tid}] = a.Name
			}
		}
	}
	phases := map[string]string{"FunctionCall": "script", "UpdateLayoutTree": "style", "Layout": "layout",
		"PrePaint": "prepaint", "Paint": "paint", "Layerize": "layerize", "Commit": "commit"}
	out := map[string]float64{}
	for _, e := range events {
		if e.Ph != "X" {
			continue
		}
		ms := e.Tdur / 1000
		switch thread := threads[[2]int{e.Pid, e.Tid}]; {
		case thread == "CrRendererMain" && e.Name == "ThreadControllerImpl::RunTask":
			out["main"] += ms
		case thread == "CrRendererMain" && phases[e.Name] != "":
			out[phases[e.Name]] += ms
		case e.Name == "RasterTask":
			out["raster"] += ms
		case thread == "VizCompositorThread" && e.Name == "ThreadControllerImpl::RunTask":
			out["display"] += ms
		}
	}
	if out["main"] == 0 {
		return nil, fmt.Errorf("the trace holds no task of the renderer's main thread (%d events)", len(events))
	}
	for k := range out {
		out[k] /= float64(len(frames))
	}
	return out, nil
}

// traceEvent is one event of Chromium's trace (JSON format).
type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	Tdur float64         `json:"tdur"` // the thread's CPU time, µs
	Args json.RawMessage `json:"args"`
}
