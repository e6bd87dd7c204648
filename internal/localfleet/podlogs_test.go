package localfleet_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// TestPodLogs: a pod's log is read through the kube-apiserver, as kubectl
// logs reads it, from the file kwok serves; the container named sidecar
// reads its own file, and a follow sees lines appended after it started.
func TestPodLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer func() { _ = f.Stop() }()
	c := f.Clusters[0]
	cs := clientFromKubeconfig(t, f.Kubeconfig(), c.Name)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "talker", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "web", Image: "registry.example/web:1"},
			{Name: "sidecar", Image: "registry.example/sidecar:1"},
		}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "talker", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatalf("pod not Running: %v", err)
	}
	now := time.Now()
	if err := c.AppendPodLog("web", now, "web one", "web two", "web three"); err != nil {
		t.Fatal(err)
	}
	if err := c.AppendPodLog("sidecar", now, "sidecar one"); err != nil {
		t.Fatal(err)
	}
	read := func(opts *corev1.PodLogOptions) string {
		t.Helper()
		b, err := cs.CoreV1().Pods("default").GetLogs("talker", opts).DoRaw(ctx)
		if err != nil {
			t.Fatalf("logs %+v: %v", opts, err)
		}
		return string(b)
	}
	two := int64(2)
	if got, want := read(&corev1.PodLogOptions{Container: "web", TailLines: &two}), "web two\nweb three\n"; got != want {
		t.Errorf("web tail 2 = %q, want %q", got, want)
	}
	if got, want := read(&corev1.PodLogOptions{Container: "sidecar"}), "sidecar one\n"; got != want {
		t.Errorf("sidecar = %q, want %q", got, want)
	}

	stream, err := cs.CoreV1().Pods("default").GetLogs("talker", &corev1.PodLogOptions{Container: "sidecar", Follow: true}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = c.AppendPodLog("sidecar", time.Now(), "sidecar later")
	}()
	var got strings.Builder
	buf := make([]byte, 256)
	for !strings.Contains(got.String(), "sidecar later\n") {
		n, err := stream.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF || err != nil && ctx.Err() != nil {
			t.Fatalf("follow ended before the appended line: %q (%v)", got.String(), err)
		}
	}
}
