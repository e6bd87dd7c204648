package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/webhook"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// BenchmarkWebhookToApplied: one Application with automated sync and an
// interval of an hour; each of 20 times, a commit is pushed, a signed
// GitHub push event is posted to the webhook handler, and the time until
// the Application reports the new commit Synced (applied and recorded) is
// measured. Pushes are 1.5 s apart, each past the coalescing window of the
// one before. Reports the median and the highest of the 20.
func BenchmarkWebhookToApplied(b *testing.B) {
	const pushes = 20
	for b.Loop() {
		b.StopTimer()
		h, err := harness.Start(context.Background(), harness.Options{Bin: flotillaBin, Clusters: 1, Lean: true})
		if err != nil {
			b.Fatal(err)
		}
		root := b.TempDir()
		repo := gitserver.NewRepo(b, root, "hooked")
		srv := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})
		url := srv.URL("hooked")
		first := repo.Commit("main", map[string]string{"app/cm.yaml": configMap(0)})
		hook := startHook(b, h)
		createApp(b, h, "hooked", url, time.Hour, false)
		waitAllSynced(b, h, 1, first)

		var took []time.Duration
		for i := 1; i <= pushes; i++ {
			time.Sleep(1500 * time.Millisecond)
			commit := repo.Commit("main", map[string]string{"app/cm.yaml": configMap(i)})
			start := time.Now()
			postPush(b, hook, url)
			waitRevision(b, h, "hooked", commit)
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "ms-p50")
		b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "ms-max")
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

const benchHookSecret = "bench-hook-secret"

func configMap(i int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hooked}\ndata: {n: %q}\n", fmt.Sprint(i))
}

// startHook serves the webhook handler on loopback with its Secret.
func startHook(b *testing.B, h *harness.Hub) string {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: webhook.DefaultSecretName, Namespace: flotillav1.DefaultNamespace},
		Data:       map[string][]byte{webhook.KeyGitHub: []byte(benchHookSecret)},
	}
	if err := h.Client.Create(context.Background(), sec); err != nil {
		b.Fatal(err)
	}
	// Quiet: the handler's log lines would break the benchmark's output lines.
	hook := webhook.New(webhook.Options{Hub: h.Client, Namespace: flotillav1.DefaultNamespace, Log: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	hook.Register(mux)
	s := httptest.NewServer(mux)
	b.Cleanup(func() { s.Close(); hook.Close() })
	return s.URL
}

func postPush(b *testing.B, base, repoURL string) {
	body, err := json.Marshal(map[string]any{"ref": "refs/heads/main", "repository": map[string]any{"clone_url": repoURL}})
	if err != nil {
		b.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(benchHookSecret))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, base+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("push: status %d", resp.StatusCode)
	}
}

// waitRevision polls every 20 ms until the Application is Synced at commit.
func waitRevision(b *testing.B, h *harness.Hub, name, commit string) {
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var app flotillav1.Application
		if err := h.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, &app); err != nil {
			return false, nil
		}
		return app.Status.Sync.Status == flotillav1.SyncStatusSynced && app.Status.Sync.Revision == commit, nil
	})
	if err != nil {
		b.Fatalf("%s not Synced at %s: %v\n%s", name, commit, err, h.ControllerLogTail(30))
	}
}
