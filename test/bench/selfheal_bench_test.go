package bench

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// BenchmarkSelfHeal changes a managed ConfigMap 100 times, as `kubectl edit`
// would, and reports the median and p99 time until Flotilla has put it back.
// The interval is an hour: every restore comes from the watch.
func BenchmarkSelfHeal(b *testing.B) {
	const changes = 100
	for b.Loop() {
		b.StopTimer()
		h, url, _ := startWithRepo(b, harness.Options{Clusters: 1})
		createApp(b, h, "heal", url, time.Hour, true)
		waitAllSynced(b, h, 1, "")
		durations := make([]time.Duration, 0, changes)
		for i := range changes {
			durations = append(durations, restoreTime(b, h, i))
		}
		slices.Sort(durations)
		b.ReportMetric(float64(durations[len(durations)/2].Milliseconds()), "ms-median-restore")
		b.ReportMetric(float64(durations[len(durations)*99/100].Milliseconds()), "ms-p99-restore")
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// restoreTime edits the ConfigMap and waits until its data is back.
func restoreTime(b *testing.B, h *harness.Hub, i int) time.Duration {
	ctx := context.Background()
	key := client.ObjectKey{Namespace: "heal", Name: "web"}
	var cm corev1.ConfigMap
	if err := h.Client.Get(ctx, key, &cm); err != nil {
		b.Fatal(err)
	}
	cm.Data["greeting"] = "drifted-" + time.Now().Format(time.RFC3339Nano)
	start := time.Now()
	if err := h.Client.Update(ctx, &cm); err != nil {
		b.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var got corev1.ConfigMap
		if err := h.Client.Get(ctx, key, &got); err != nil {
			return false, nil
		}
		return got.Data["greeting"] == "hello", nil
	})
	if err != nil {
		b.Fatalf("change %d not restored: %v\n%s", i, err, h.ControllerLogTail(20))
	}
	return time.Since(start)
}
