package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// hook is a webhook receiver on loopback that records every request.
type hook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	header http.Header
	body   []byte
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.mu.Lock()
		h.got = append(h.got, received{header: r.Header.Clone(), body: body})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) requests() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

// A ConfigMap the API server refuses: a data key may not hold a space.
const refused = `apiVersion: v1
kind: ConfigMap
metadata:
  name: refused
data:
  "not a key": "x"
`

// An Application whose sync fails sends SyncFailed, once, to the
// Notification of its Project, signed with the Secret's key and naming the
// Application and the cause; a Notification of another Project hears
// nothing.
func TestSyncFailedReachesItsProjectOnly(t *testing.T) {
	ctx := context.Background()
	ns := "notify-syncfailed"
	key := []byte("e2e-hmac-key")
	createNamespace(t, ns)
	project(t, "team-a", "hook-hmac")
	project(t, "team-b", "")
	env.CreateSecret(t, "hook-hmac", map[string][]byte{"hmacKey": key})
	teamA, teamB := newHook(t), newHook(t)
	notification(t, "team-a-failures", "team-a", teamA.srv.URL+"/team-a", "hook-hmac")
	notification(t, "team-b-failures", "team-b", teamB.srv.URL+"/team-b", "")

	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := repo.Commit("main", map[string]string{"app/cm.yaml": refused})
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.Project = "team-a"
	spec.SyncPolicy.CreateNamespace = false
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: flotillav1.DefaultNamespace}, Spec: spec}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, app) })

	env.WaitApp(t, "shop", 2*time.Minute, "failed", func(a *flotillav1.Application) bool {
		return a.Status.Operation != nil && a.Status.Operation.Phase == flotillav1.OperationFailed
	})
	var got []received
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		got = teamA.requests()
		return len(got) > 0, nil
	})
	if err != nil {
		t.Fatalf("no notification reached team-a's webhook\ncontroller log:\n%s", env.ControllerLogTail(40))
	}
	req := got[0]
	mac := hmac.New(sha256.New, key)
	mac.Write(req.body)
	if sig, want := req.header.Get("X-Flotilla-Signature"), "sha256="+hex.EncodeToString(mac.Sum(nil)); sig != want {
		t.Errorf("signature %q, want %q", sig, want)
	}
	var body map[string]string
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatalf("body %s: %v", req.body, err)
	}
	if body["event"] != "SyncFailed" || body["application"] != "shop" || body["project"] != "team-a" ||
		body["revision"] != commit || body["severity"] != "error" {
		t.Errorf("body %s", req.body)
	}
	if msg := body["message"]; !strings.Contains(msg, "ConfigMap") || !strings.Contains(msg, "refused") || !strings.Contains(msg, "not a key") {
		t.Errorf("the message should name the object and the cause: %q", msg)
	}

	// The sync keeps failing alike (its retries, its interval): no news.
	time.Sleep(8 * time.Second)
	if n := len(teamA.requests()); n != 1 {
		t.Errorf("team-a received %d notifications of one failure, want 1", n)
	}
	if n := len(teamB.requests()); n != 0 {
		t.Errorf("team-b received %d notifications of team-a's Application", n)
	}
	var n flotillav1.Notification
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "team-a-failures"}, &n); err != nil {
		t.Fatal(err)
	}
	if d := n.Status.LastDelivery; d == nil || d.Outcome != flotillav1.DeliveryDelivered || d.Event != "SyncFailed" || d.Subject != "Application/shop" {
		t.Errorf("status.lastDelivery = %+v", d)
	}
	if strings.Contains(harness.MustJSON(n.Status), string(key)) || strings.Contains(env.ControllerLog(), string(key)) {
		t.Error("the HMAC key is in the Notification's status or the controller's log")
	}
}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), ns) })
}

// project creates a Project allowing any source into notify-* namespaces
// of the hub, and the Secret named secret (if any).
func project(t *testing.T, name, secret string) {
	t.Helper()
	p := &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:  []string{"*"},
			Destinations: []flotillav1.ProjectDestination{{Cluster: flotillav1.InCluster, Namespace: "notify-*"}},
		},
	}
	if secret != "" {
		p.Spec.Secrets = []string{secret}
	}
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
}

// notification creates a Notification of SyncFailed for the Project's
// Applications, to a webhook at url, signed with the Secret named secret
// (none when empty), and waits until the controller found it Ready.
func notification(t *testing.T, name, proj, url, secret string) {
	t.Helper()
	if c := createNotification(t, name, proj, url, secret); c.Status != metav1.ConditionTrue {
		t.Fatalf("Notification %s: Ready=%s %s: %s", name, c.Status, c.Reason, c.Message)
	}
}

// createNotification creates the Notification and returns its Ready
// condition once the controller has set it for this generation.
func createNotification(t *testing.T, name, proj, url, secret string) metav1.Condition {
	t.Helper()
	n := &flotillav1.Notification{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.NotificationSpec{
			Events:   []string{flotillav1.EventSyncFailed},
			Projects: []string{proj},
			Provider: flotillav1.NotificationProvider{Type: flotillav1.ProviderWebhook, URL: url},
		},
	}
	if secret != "" {
		n.Spec.Provider.SecretRef = &flotillav1.LocalObjectReference{Name: secret}
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, n) })
	var ready metav1.Condition
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(n), n); err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == flotillav1.ConditionReady && c.ObservedGeneration == n.Generation {
				ready = c
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("Notification %s never checked\ncontroller log:\n%s", name, env.ControllerLogTail(30))
	}
	return ready
}
