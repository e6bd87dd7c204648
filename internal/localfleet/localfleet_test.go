package localfleet_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// TestFleetRunsDeployments is the story localfleet exists for: three real
// clusters, a Deployment in each that becomes Available with its pods Ready,
// and nothing left running after Stop.
func TestFleetRunsDeployments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 3})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = f.Stop()
		}
	}()

	if got, want := clusterNames(f), []string{"hub", "dev-1", "dev-2"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("cluster names = %v, want %v", got, want)
	}
	for _, c := range f.Clusters {
		cs := clientFromKubeconfig(t, f.Kubeconfig(), c.Name)
		createDeployment(ctx, t, cs, c.Name)
	}
	for _, c := range f.Clusters {
		cs := clientFromKubeconfig(t, f.Kubeconfig(), c.Name)
		waitAvailable(ctx, t, cs, c.Name)
	}

	pids := f.PIDs()
	if len(pids) != 3*5 {
		t.Fatalf("got %d processes, want 5 per cluster", len(pids))
	}
	var listening []string
	for _, c := range f.Clusters {
		listening = append(listening, strings.TrimPrefix(c.Server, "https://"))
	}
	if err := f.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	assertGone(t, pids)
	for _, addr := range listening {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s still taken after Stop: %v", addr, err)
			continue
		}
		_ = l.Close()
	}
	if _, err := os.Stat(f.Dir); !os.IsNotExist(err) {
		t.Errorf("temporary folder %s still there after Stop (err=%v)", f.Dir, err)
	}
}

// TestKilledStarterLeavesNothing kills, with SIGKILL, a process that started
// a fleet and checks that every component dies with it.
func TestKilledStarterLeavesNothing(t *testing.T) {
	if os.Getenv("LOCALFLEET_CHILD") == "1" {
		runChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledStarterLeavesNothing$")
	cmd.Env = append(os.Environ(), "LOCALFLEET_CHILD=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	var pids []int
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		line := scanner.Text()
		if rest, ok := strings.CutPrefix(line, "PIDS "); ok {
			for _, field := range strings.Fields(rest) {
				pid, err := strconv.Atoi(field)
				if err != nil {
					t.Fatalf("bad pid line %q", line)
				}
				pids = append(pids, pid)
			}
			break
		}
	}
	if len(pids) != 2 {
		t.Fatalf("child reported %d processes, want etcd and kube-apiserver", len(pids))
	}
	for _, pid := range pids {
		if !localfleet.ProcessAlive(pid) {
			t.Fatalf("component %d not running before the kill", pid)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	assertGone(t, pids)
}

// runChild starts one lean cluster, reports its processes and waits to be killed.
func runChild() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Names: []string{"orphan"}, Lean: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child start:", err)
		os.Exit(2)
	}
	var b strings.Builder
	for _, pid := range f.PIDs() {
		fmt.Fprintf(&b, " %d", pid)
	}
	fmt.Println("PIDS" + b.String())
	<-ctx.Done()
	_ = f.Stop()
	os.Exit(3)
}

func clusterNames(f *localfleet.Fleet) []string {
	var names []string
	for _, c := range f.Clusters {
		names = append(names, c.Name)
	}
	return names
}

func clientFromKubeconfig(t *testing.T, path, context string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path},
		&clientcmd.ConfigOverrides{CurrentContext: context},
	).ClientConfig()
	if err != nil {
		t.Fatalf("kubeconfig context %s: %v", context, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func createDeployment(ctx context.Context, t *testing.T, cs kubernetes.Interface, cluster string) {
	t.Helper()
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("cluster %s: create Deployment: %v", cluster, err)
	}
}

func waitAvailable(ctx context.Context, t *testing.T, cs kubernetes.Interface, cluster string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		available := false
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				available = true
			}
		}
		last = fmt.Sprintf("available=%v readyReplicas=%d", available, d.Status.ReadyReplicas)
		return available && d.Status.ReadyReplicas == 2, nil
	})
	if err != nil {
		t.Fatalf("cluster %s: Deployment web not Available with 2 ready pods: %v (last: %s)", cluster, err, last)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.Spec.NodeName == localfleet.NodeName {
				ready++
			}
		}
	}
	if ready != 2 {
		t.Fatalf("cluster %s: %d pods Ready on %s, want 2", cluster, ready, localfleet.NodeName)
	}
}

// assertGone waits briefly for each process to disappear (the kernel reaps
// asynchronously) and fails for any that remains.
func assertGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for {
			alive := localfleet.ProcessAlive(pid)
			if !alive {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("process %d still running", pid)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
