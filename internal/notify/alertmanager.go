package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// alertmanager posts each event as one alert to Alertmanager's API v2.
type alertmanager struct {
	url   *url.URL // the base address; /api/v2/alerts is added
	token string
}

// alertResolveAfter is how long an alert stays firing: an event is news,
// not a state that Flotilla will later resolve.
const alertResolveAfter = time.Hour

// Alert is one alert of Alertmanager's API v2 (POST /api/v2/alerts takes a
// list of them).
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (a *alertmanager) send(ctx context.Context, client *http.Client, m Message) error {
	ev := m.Event
	labels := map[string]string{"alertname": ev.Name, "severity": ev.Severity, "namespace": ev.Namespace, "source": "flotilla"}
	for k, v := range map[string]string{"project": ev.Project, "fleet": ev.Fleet, "application": ev.Application, "cluster": ev.Cluster, "object": ev.Object} {
		if v != "" {
			labels[k] = v
		}
	}
	ann := map[string]string{"summary": title(ev), "description": m.Text}
	if ev.Revision != "" {
		ann["revision"] = ev.Revision
	}
	body, err := json.Marshal([]Alert{{Labels: labels, Annotations: ann, StartsAt: ev.Time, EndsAt: ev.Time.Add(alertResolveAfter)}})
	if err != nil {
		return err
	}
	target := *a.url
	target.Path = trimSlash(target.Path) + "/api/v2/alerts"
	target.RawPath = ""
	h := http.Header{}
	if a.token != "" {
		if err := refusePlainHTTP(flotillav1.ProviderAlertmanager, &target); err != nil {
			return err
		}
		h.Set("Authorization", "Bearer "+a.token)
	}
	return post(ctx, client, &target, body, h)
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
