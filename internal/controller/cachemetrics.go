package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// registerCacheMetrics exposes the fetch and render caches, so that "render
// once for the fleet" can be seen: renders against cache hits.
func registerCacheMetrics(reg prometheus.Registerer, sources *source.Client, renderer *render.Renderer) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flotilla_renders_total",
			Help: "Renders performed (distinct render inputs, or inputs evicted from the cache).",
		}, func() float64 { return float64(renderer.Stats().Renders) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flotilla_render_cache_hits_total",
			Help: "Render requests answered from the cache or by a render already running.",
		}, func() float64 { s := renderer.Stats(); return float64(s.Hits + s.Shared) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flotilla_render_cache_bytes",
			Help: "Memory held by the render cache, estimated from its decoded objects.",
		}, func() float64 { return float64(renderer.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flotilla_source_checkouts",
			Help: "Checkouts held in the source cache, one per repository and commit.",
		}, func() float64 { return float64(sources.CacheStats().Checkouts) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flotilla_source_cache_bytes",
			Help: "Bytes held in the source cache.",
		}, func() float64 { return float64(sources.CacheStats().Bytes) }),
	)
}
