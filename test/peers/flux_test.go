package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/test/harness"
)

const (
	fluxNamespace = "flux-system"
	// interval is every Kustomization's and Application's: no second
	// reconcile falls inside the measurement.
	interval = "10m"
)

// fluxUserAgents are the client-go user agents of Flux's two controllers
// (the program's name and its version).
var fluxUserAgents = []string{"source-controller/", "kustomize-controller/"}

// runFlux measures Flux's source-controller and kustomize-controller, the
// latter with --concurrent=concurrency, on a fresh cluster.
func runFlux(b *testing.B, concurrency int) (sample, error) {
	ctx := context.Background()
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1, AuditWrites: true, StartTimeout: 5 * time.Minute})
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = f.Stop() }()
	c := f.Clusters[0]
	cl := fastClient(b, c.RESTConfig(), client.Options{})
	if err := installCRDs(ctx, cl, filepath.Join(peersBin, "crds")); err != nil {
		return sample{}, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fluxNamespace}}
	if err := cl.Create(ctx, ns); err != nil {
		return sample{}, err
	}
	root := b.TempDir()
	repo := gitserver.NewRepo(b, root, "fleet")
	repo.Commit("main", repository(apps, true))
	srv := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})

	procs, err := startFlux(b.TempDir(), f.Kubeconfig(), concurrency)
	for _, p := range procs {
		defer p.stop()
	}
	if err != nil {
		return sample{}, err
	}

	objs := []client.Object{gitRepository(srv.URL("fleet"))}
	for i := range apps {
		objs = append(objs, kustomization(i))
	}
	begin := time.Now()
	if err := createAll(ctx, cl, objs); err != nil {
		return sample{}, err
	}
	end, err := waitAll(ctx, apps, func(ctx context.Context) (int, error) { return readyKustomizations(ctx, cl) })
	if err != nil {
		return sample{}, fmt.Errorf("flux: %w\nkustomize-controller:\n%s", err, procs[1].tail())
	}
	pids := []int{procs[0].cmd.Process.Pid, procs[1].cmd.Process.Pid}
	return measure(end.Sub(begin), c, pids, fluxUserAgents)
}

// startFlux starts source-controller and kustomize-controller on loopback
// ports, with their storage and temporary files in dir, and waits until
// both are ready.
func startFlux(dir, kubeconfig string, concurrency int) ([]*program, error) {
	ports := make([]int, 5)
	for i := range ports {
		p, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	// source-controller refuses a storage folder that does not exist.
	tmp, storage := filepath.Join(dir, "tmp"), filepath.Join(dir, "storage")
	for _, d := range []string{tmp, storage} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	env := []string{"KUBECONFIG=" + kubeconfig, "TMPDIR=" + tmp, "RUNTIME_NAMESPACE=" + fluxNamespace}
	source, err := start(dir, filepath.Join(peersBin, "source-controller"), []string{
		"--metrics-addr=" + addr(0), "--health-addr=" + addr(1),
		"--storage-path=" + storage,
		"--storage-addr=" + addr(2), "--storage-adv-addr=" + addr(2),
		"--log-encoding=json",
	}, env)
	if err != nil {
		return nil, err
	}
	procs := []*program{source}
	kustomize, err := start(dir, filepath.Join(peersBin, "kustomize-controller"), []string{
		"--metrics-addr=" + addr(3), "--health-addr=" + addr(4),
		"--concurrent=" + strconv.Itoa(concurrency),
		"--log-encoding=json",
	}, env)
	if err != nil {
		return procs, err
	}
	procs = append(procs, kustomize)
	for i, p := range procs {
		if err := waitHealthy(addr(1+3*i), p); err != nil {
			return procs, err
		}
	}
	return procs, nil
}

// waitHealthy waits until the program answers /readyz on addr.
func waitHealthy(addr string, p *program) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		resp, err := hc.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w\n%s", p.cmd.Path, err, p.tail())
	}
	return nil
}

// installCRDs creates every CustomResourceDefinition in dir and waits until
// the API server serves Kustomizations.
func installCRDs(ctx context.Context, cl client.Client, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s (run hack/peers/build.sh): %w", dir, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 1<<20)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := cl.Create(ctx, u); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := readyKustomizations(ctx, cl)
		return err == nil, nil
	})
}

func gitRepository(url string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "GitRepository",
		"metadata":   map[string]any{"name": "fleet", "namespace": fluxNamespace},
		"spec": map[string]any{
			"interval": interval,
			"url":      url,
			"ref":      map[string]any{"branch": "main"},
		},
	}}
	return u
}

// kustomization applies folder i with prune and a wait for health, as the
// Flotilla Application of the same folder does.
func kustomization(i int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": name(i), "namespace": fluxNamespace},
		"spec": map[string]any{
			"interval":  interval,
			"path":      "./" + folder(i),
			"prune":     true,
			"wait":      true,
			"timeout":   "5m",
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "fleet"},
		},
	}}
}

// readyKustomizations counts the Kustomizations whose Ready condition is True.
func readyKustomizations(ctx context.Context, cl client.Client) (int, error) {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("kustomize.toolkit.fluxcd.io/v1")
	list.SetKind("KustomizationList")
	if err := cl.List(ctx, list, client.InNamespace(fluxNamespace)); err != nil {
		return 0, err
	}
	n := 0
	for _, k := range list.Items {
		conds, _, _ := unstructured.NestedSlice(k.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" && m["status"] == "True" {
				n++
			}
		}
	}
	return n, nil
}
