package engine

import (
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// Metrics are the engine's Prometheus metrics. Every one but StepDuration
// carries the destination cluster's name: a histogram of each step for each
// cluster would be some 200 series a cluster, so the steps' times are the
// engine's over every cluster (flotilla_sync_duration_seconds tells a slow
// cluster).
type Metrics struct {
	SyncDuration *prometheus.HistogramVec
	// StepDuration is the time of each step of a sync, for finding where
	// syncs spend it.
	StepDuration *prometheus.HistogramVec
	Syncs        *prometheus.CounterVec
	// Refreshes count the health refreshes of Applications (Observe):
	// a status change of an object read with no sync.
	Refreshes *prometheus.CounterVec
	Objects   *prometheus.CounterVec
	Requests  *prometheus.CounterVec
	// Watches are the watch streams open to each cluster, counted from
	// their response to the close of their body.
	Watches *prometheus.GaugeVec
}

// NewMetrics makes the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SyncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flotilla_sync_duration_seconds",
			Help:    "Time one Application sync took, from fetch to prune.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"cluster"}),
		StepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flotilla_sync_step_duration_seconds",
			Help:    "Time each step of an Application sync took (cluster, admit, fetch, render, slot, plan, enforce, compare, apply, prune, observe).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"step"}),
		Syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_syncs_total",
			Help: "Application syncs by result: succeeded, or the failure's condition reason.",
		}, []string{"cluster", "result"}),
		Refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_health_refreshes_total",
			Help: "Health refreshes of Applications: their objects' health read again from the watch caches after a status change, with no sync, by result (succeeded, or the failure's condition reason).",
		}, []string{"cluster", "result"}),
		Objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_objects_total",
			Help: "Objects handled by syncs, by action (created, configured, unchanged, deleted, skipped, conflict).",
		}, []string{"cluster", "action"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_cluster_requests_total",
			Help: "Requests Flotilla sent to a cluster's API server, by method (a dry-run is PATCH-dryrun, the start of a watch WATCH) and status code.",
		}, []string{"cluster", "method", "code"}),
	}
	m.Watches = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flotilla_cluster_watches",
		Help: "Watch streams open to a cluster's API server.",
	}, []string{"cluster"})
	reg.MustRegister(m.SyncDuration, m.StepDuration, m.Syncs, m.Refreshes, m.Objects, m.Requests, m.Watches)
	return m
}

// Observe records a finished sync.
func (m *Metrics) Observe(res *Result, err error) {
	if m == nil || res == nil {
		return
	}
	result := "succeeded"
	if err != nil {
		result = ReasonOf(err, "Failed")
	}
	m.SyncDuration.WithLabelValues(res.Cluster).Observe(res.Duration.Seconds())
	for _, st := range res.Steps {
		m.StepDuration.WithLabelValues(st.Step).Observe(st.Duration.Seconds())
	}
	m.Syncs.WithLabelValues(res.Cluster, result).Inc()
	if res.Changes != nil {
		for action, n := range res.Changes.Counts() {
			m.Objects.WithLabelValues(res.Cluster, string(action)).Add(float64(n))
		}
	}
}

// ObserveRefresh records a finished health refresh.
func (m *Metrics) ObserveRefresh(res *Result, err error) {
	if m == nil || res == nil {
		return
	}
	result := "succeeded"
	if err != nil {
		result = ReasonOf(err, "Failed")
	}
	m.Refreshes.WithLabelValues(res.Cluster, result).Inc()
}

// Instrument returns a copy of cfg whose requests are counted under cluster.
func (m *Metrics) Instrument(cfg *rest.Config, cluster string) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &countingTransport{next: rt, cluster: cluster, requests: m.Requests, watches: m.Watches}
	})
	return cfg
}

// countingTransport counts each request by cluster, method and status. It is
// a wrapper in client-go's sense (utilnet.RoundTripperWrapper): client-go
// reaches through it to cancel a request on the transport underneath.
type countingTransport struct {
	next     http.RoundTripper
	cluster  string
	requests *prometheus.CounterVec
	watches  *prometheus.GaugeVec
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	method := requestMethod(req)
	t.requests.WithLabelValues(t.cluster, method, code).Inc()
	if method == "WATCH" && err == nil && resp.StatusCode == http.StatusOK {
		g := t.watches.WithLabelValues(t.cluster)
		g.Inc()
		resp.Body = &watchBody{ReadCloser: resp.Body, done: g.Dec}
	}
	return resp, err
}

// watchBody counts a watch stream as closed once, when its body is.
type watchBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *watchBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

// WrappedRoundTripper is the transport underneath.
func (t *countingTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

// requestMethod is the method a request is counted under: PATCH-dryrun for
// a dry-run, WATCH for a watch (whose count over time says how often
// watches are restarted).
func requestMethod(req *http.Request) string {
	q := req.URL.Query()
	switch {
	case q.Has("dryRun"):
		return req.Method + "-dryrun"
	case req.Method == http.MethodGet && (q.Get("watch") == "true" || q.Get("watch") == "1"):
		return "WATCH"
	}
	return req.Method
}

var _ utilnet.RoundTripperWrapper = (*countingTransport)(nil)
