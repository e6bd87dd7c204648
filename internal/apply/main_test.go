package apply_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// testCluster is the one real control plane every test of the package
// shares; each test works in namespaces of its own.
var testCluster *localfleet.Cluster

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1, Lean: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "apply tests need a local control plane (make k8s): %v\n", err)
		return 1
	}
	defer func() { _ = f.Stop() }()
	testCluster = f.Clusters[0]
	return m.Run()
}

// requests counts what a Manager sends, by kind of request.
type requests struct {
	mu      sync.Mutex
	writes  []string // non-GET requests that are not dry-runs: "PATCH /api/…"
	dryRuns int
	// reads are the GETs of namespaced objects: "/api/v1/namespaces/ns/configmaps/name".
	reads []string
}

func (r *requests) observe(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/namespaces/") {
		r.mu.Lock()
		r.reads = append(r.reads, req.URL.Path)
		r.mu.Unlock()
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		r.mu.Lock()
		if req.URL.Query().Has("dryRun") {
			r.dryRuns++
		} else {
			r.writes = append(r.writes, req.Method+" "+req.URL.Path)
		}
		r.mu.Unlock()
	}
	return next.RoundTrip(req)
}

// DryRuns returns how many dry-runs were sent since the last Writes.
func (r *requests) DryRuns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dryRuns
}

// Writes returns the writes sent since the last call, and forgets them
// and the dry-runs and reads.
func (r *requests) Writes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.writes
	r.writes, r.dryRuns, r.reads = nil, 0, nil
	return w
}

// Reads returns the reads of namespaced objects sent since the last Writes.
func (r *requests) Reads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// newManager returns a Manager for the test cluster whose requests are
// counted.
func newManager(t *testing.T) (*apply.Manager, *requests) {
	t.Helper()
	return newManagerWith(t, apply.DefaultOptions())
}

// newManagerWith is newManager with opts.
func newManagerWith(t *testing.T, opts apply.Options) (*apply.Manager, *requests) {
	t.Helper()
	reqs := &requests{}
	cfg := testCluster.RESTConfig()
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) { return reqs.observe(next, req) })
	})
	m, err := apply.NewManager(cfg, opts)
	if err != nil {
		t.Fatalf("apply.NewManager: %v", err)
	}
	return m, reqs
}

func adminConfig() *rest.Config { return testCluster.RESTConfig() }

func kube(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(adminConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func dyn(t *testing.T) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(adminConfig())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var notDNS = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName is a DNS label made from the test's name, unique in the cluster.
func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	base := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(prefix+"-"+t.Name()), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	return fmt.Sprintf("%s-%05d", base, rand.IntN(100000))
}

// newNamespace creates, as someone other than Flotilla, a namespace for the
// test.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := uniqueName(t, "t")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := kube(t).CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

func newOwner(t *testing.T, name string) apply.Owner {
	return apply.Owner{Namespace: "flotilla-system", Name: name, UID: fmt.Sprintf("uid-%d", rand.Int64())}
}

// obj parses a YAML object, formatted with args.
func obj(t *testing.T, format string, args ...any) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(fmt.Sprintf(format, args...)))
	if err != nil {
		t.Fatalf("test object: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return u
}

func configMap(t *testing.T, ns, name, value string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: %s, namespace: %s}
data: {key: %q}
`, name, ns, value)
}

// changes returns "object action" lines of cs, for cmp.Diff.
func changes(cs *apply.ChangeSet) []string {
	out := []string{}
	for _, c := range cs.Changes {
		out = append(out, c.Object.String()+" "+string(c.Action))
	}
	return out
}

func copies(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}
