package localfleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// TestAuditCountsOneClientsWrites: with AuditWrites, the API server records
// each write, and CountWrites counts those of one user agent, leaving out
// reads, dry-runs and other clients.
func TestAuditCountsOneClientsWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1, Lean: true, AuditWrites: true})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = f.Stop() })
	c := f.Clusters[0]
	client := func(agent string) *kubernetes.Clientset {
		cfg := c.RESTConfig()
		cfg.UserAgent = agent
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	counted, other := client("counted/1.0 (linux/amd64)"), client("other/1.0")
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}
		if _, err := counted.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dry := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}
	if _, err := counted.CoreV1().ConfigMaps("default").Create(ctx, dry, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := counted.CoreV1().ConfigMaps("default").Get(ctx, "cm-0", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := other.CoreV1().ConfigMaps("default").Delete(ctx, "cm-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := c.CountWrites("counted/")
	if err != nil {
		t.Fatal(err)
	}
	if got != 3 {
		t.Errorf("CountWrites(counted/) = %d, want the 3 creates", got)
	}
	if got, err := c.CountWrites("other/"); err != nil || got != 1 {
		t.Errorf("CountWrites(other/) = %d, %v; want the 1 delete", got, err)
	}
}
