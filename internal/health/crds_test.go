package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// The releases whose CRDs the test installs, read from their Go modules (the
// Go module proxy serves them; the module cache keeps them).
var progressiveCRDs = []struct{ module, file string }{
	{"github.com/argoproj/argo-rollouts@v1.9.0", "manifests/crds/rollout-crd.yaml"},
	{"github.com/fluxcd/flagger@v1.36.1", "artifacts/flagger/crd.yaml"},
}

// specs are valid specs, under those CRDs' schemas, of a Rollout and a
// Canary.
var specs = map[string]map[string]any{
	"Rollout": {
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "registry.example/web:1"}}},
		},
		"strategy": map[string]any{"canary": map[string]any{"steps": []any{map[string]any{"pause": map[string]any{}}}}},
	},
	"Canary": {
		"targetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
		"service":   map[string]any{"port": int64(80)},
		"analysis":  map[string]any{"interval": "1m", "threshold": int64(5), "maxWeight": int64(50), "stepWeight": int64(10)},
	},
}

// TestProgressiveDeliveryOnRealCRDs: the Rollouts and Canaries of
// progressiveDelivery, created on a control plane that serves Argo
// Rollouts' and Flagger's own CRDs and given their statuses through the
// status subresource (so that those CRDs' schemas keep only the fields they
// define), get the same verdicts as in TestAssessBuiltinRules.
func TestProgressiveDeliveryOnRealCRDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local control plane")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, c := range progressiveCRDs {
		crds = append(crds, readCRDs(t, filepath.Join(moduleDir(ctx, t, c.module), c.file))...)
	}
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1, Lean: true})
	if err != nil {
		t.Fatalf("health tests need a local control plane (make k8s): %v", err)
	}
	defer func() { _ = f.Stop() }()
	cfg := f.Clusters[0].RESTConfig()
	installCRDs(ctx, t, apiextensionsclient.NewForConfigOrDie(cfg), crds)
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	resources := map[string]schema.GroupVersionResource{
		"Rollout": {Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"},
		"Canary":  {Group: "flagger.app", Version: "v1beta1", Resource: "canaries"},
	}
	for _, tt := range progressiveDelivery {
		t.Run(tt.file, func(t *testing.T) {
			fixture := load(t, tt.file)
			gvr := resources[fixture.GetKind()]
			client := dyn.Resource(gvr).Namespace(fixture.GetNamespace())
			live := liveCopy(ctx, t, client, fixture)
			defer func() { _ = client.Delete(context.Background(), live.GetName(), metav1.DeleteOptions{}) }()
			got := health.Assess(ctx, live)
			if diff := cmp.Diff(tt.want, verdictOf(got)); diff != "" {
				t.Errorf("Assess of the live object (-want +got):\n%s\nlive status: %v", diff, live.Object["status"])
			}
		})
	}
}

// liveCopy creates fixture with a valid spec, then writes its status
// through the status subresource, with status.observedGeneration as far
// behind the live generation as the fixture's is behind its own; it returns
// the object as the API server then serves it.
func liveCopy(ctx context.Context, t *testing.T, client dynamic.ResourceInterface, fixture *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": specs[fixture.GetKind()]}}
	obj.SetAPIVersion(fixture.GetAPIVersion())
	obj.SetKind(fixture.GetKind())
	obj.SetName(fixture.GetName())
	created, err := client.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s under its project's CRD: %v", fixture.GetKind(), err)
	}
	status, _, _ := unstructured.NestedMap(fixture.Object, "status")
	if observed, ok := status["observedGeneration"].(string); ok {
		n, err := strconv.ParseInt(observed, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		status["observedGeneration"] = strconv.FormatInt(created.GetGeneration()-(fixture.GetGeneration()-n), 10)
	}
	created.Object["status"] = status
	live, err := client.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("write the status of %s: %v", fixture.GetKind(), err)
	}
	return live
}

// moduleDir downloads module (path@version) into the module cache, if it is
// not there yet, and returns its folder.
func moduleDir(ctx context.Context, t *testing.T, module string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		t.Fatalf("go mod download %s (the test reads that release's CRDs from its module): %v %s %s", module, err, info.Error, stderr.String())
	}
	return info.Dir
}

// readCRDs reads every CustomResourceDefinition of a multi-document file.
func readCRDs(t *testing.T, file string) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []*apiextensionsv1.CustomResourceDefinition
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 64*1024)
	for {
		var crd apiextensionsv1.CustomResourceDefinition
		err := dec.Decode(&crd)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(file), err)
		}
		if crd.Kind == "CustomResourceDefinition" {
			out = append(out, &crd)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no CustomResourceDefinition", filepath.Base(file))
	}
	return out
}

// installCRDs creates crds and waits until each is established.
func installCRDs(ctx context.Context, t *testing.T, c apiextensionsclient.Interface, crds []*apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	for _, crd := range crds {
		if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create CRD %s: %v", crd.Name, err)
		}
	}
	for _, crd := range crds {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("CRD %s never established: %v", crd.Name, err)
		}
	}
}
