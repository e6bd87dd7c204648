package harness

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// writeMethods are the HTTP methods that change a cluster. Dry-runs are
// counted apart by the controller (method "PATCH-dryrun") and are not writes.
var writeMethods = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// Metric sums every series of a counter or gauge of the controller.
func (h *Hub) Metric(name string) (float64, error) {
	families, err := h.scrape()
	if err != nil {
		return 0, err
	}
	total := 0.0
	if f, ok := families[name]; ok {
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total, nil
}

// Writes sums the write requests the controller sent to every cluster,
// from its flotilla_cluster_requests_total metric.
func (h *Hub) Writes() (float64, error) {
	return h.requests(func(method string) bool { return writeMethods[method] })
}

// Reads sums the read requests the controller sent to every cluster: GETs
// and LISTs (not the start of a watch) and server-side dry-runs.
func (h *Hub) Reads() (float64, error) {
	return h.requests(func(method string) bool { return method == "GET" || strings.HasSuffix(method, "-dryrun") })
}

// requests sums flotilla_cluster_requests_total over the methods counted.
func (h *Hub) requests(counted func(method string) bool) (float64, error) {
	families, err := h.scrape()
	if err != nil {
		return 0, err
	}
	total := 0.0
	if f, ok := families["flotilla_cluster_requests_total"]; ok {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && counted(l.GetValue()) {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total, nil
}

// Scrape reads the controller's metrics.
func (h *Hub) Scrape() (map[string]*dto.MetricFamily, error) { return h.scrape() }

func (h *Hub) scrape() (map[string]*dto.MetricFamily, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + h.Metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}
