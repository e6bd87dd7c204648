package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// stuckDeployment is a Deployment whose pods fit no node: the workload
// cluster's deployment controller gives up after 5 s, and it is Degraded.
const stuckDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {flotilla.dev/no-such-node: "true"}
      containers: [{name: stuck, image: registry.example/stuck:1}]
`

// TestAgentApplicationNotifies: the hub does not sync an Application of an
// agent-mode Cluster, yet its Notifications hear of it: the sync its agent
// reports (SyncSucceeded) and its health turned Degraded (HealthDegraded,
// naming the cluster and the Deployment), each once.
func TestAgentApplicationNotifies(t *testing.T) {
	startAgent(t)
	var (
		mu  sync.Mutex
		got []map[string]string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var ev map[string]string
		if json.Unmarshal(body, &ev) == nil && ev["application"] == "edge-notify" {
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	received := func(event string) []map[string]string {
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]string
		for _, ev := range got {
			if ev["event"] == event {
				out = append(out, ev)
			}
		}
		return out
	}

	n := &flotillav1.Notification{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-notify", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.NotificationSpec{
			Events:       []string{flotillav1.EventSyncSucceeded, flotillav1.EventHealthDegraded},
			Applications: []string{"edge-notify"},
			Provider:     flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: hook.URL},
		},
	}
	create(t, n)
	eventually(t, time.Minute, "the Notification is Ready", func(ctx context.Context) bool {
		var cur flotillav1.Notification
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(n), &cur); err != nil {
			return false
		}
		c := meta.FindStatusCondition(cur.Status.Conditions, flotillav1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == cur.Generation
	})

	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "notify")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := repo.Commit("main", map[string]string{"app/stuck.yaml": stuckDeployment})
	create(t, app("edge-notify", srv.URL("notify"), "agent-notify", edge))

	eventually(t, 2*time.Minute, "HealthDegraded reaches the webhook", func(context.Context) bool {
		return len(received(flotillav1.EventHealthDegraded)) > 0
	})
	ev := received(flotillav1.EventHealthDegraded)[0]
	if ev["cluster"] != edge || !strings.Contains(ev["message"], "Deployment/agent-notify/stuck") || ev["revision"] != commit {
		t.Errorf("HealthDegraded %v: want cluster %s, the Deployment named and revision %s", ev, edge, commit)
	}
	eventually(t, 30*time.Second, "SyncSucceeded reaches the webhook", func(context.Context) bool {
		return len(received(flotillav1.EventSyncSucceeded)) > 0
	})
	if ev := received(flotillav1.EventSyncSucceeded)[0]; ev["cluster"] != edge || !strings.Contains(ev["message"], commit[:12]) {
		t.Errorf("SyncSucceeded %v: want cluster %s and the revision %s", ev, edge, commit[:12])
	}

	// The agent keeps reporting (heartbeats, resyncs every 5 s), which is
	// no news; a second revision is. Once its SyncSucceeded has come, the
	// reports before it have been heard, and the webhook has had no other.
	second := repo.Commit("main", map[string]string{"app/stuck.yaml": stuckDeployment, "app/cm.yaml": configMap})
	eventually(t, 2*time.Minute, "SyncSucceeded of the second revision reaches the webhook", func(context.Context) bool {
		for _, ev := range received(flotillav1.EventSyncSucceeded) {
			if strings.Contains(ev["message"], second[:12]) {
				return true
			}
		}
		return false
	})
	if d, s := len(received(flotillav1.EventHealthDegraded)), len(received(flotillav1.EventSyncSucceeded)); d != 1 || s != 2 {
		t.Errorf("received %d HealthDegraded and %d SyncSucceeded, want one HealthDegraded and one SyncSucceeded per revision", d, s)
	}
}
