package e2e

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// longRunApps are Applications of varied kinds, by path in one repository.
var longRunApps = map[string]string{
	"web": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example/web:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`,
	"config": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: long-run}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: flags}
data: {beta: "true"}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
data: {token: bm90LWEtcmVhbC10b2tlbg==}
`,
	"rbac": `apiVersion: v1
kind: ServiceAccount
metadata: {name: runner}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: runner-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: runner}]
`,
	"crd": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.longrun.e2e.flotilla.dev}
spec:
  group: longrun.e2e.flotilla.dev
  names: {kind: Gizmo, plural: gizmos, singular: gizmo}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: longrun.e2e.flotilla.dev/v1
kind: Gizmo
metadata: {name: g}
spec: {size: 3}
`,
	"job": `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: registry.example/migrate:1}]
`,
	"stateful": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: registry.example/db:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
`,
	"namespace": `apiVersion: v1
kind: Namespace
metadata: {name: longrun-extra}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: extra, namespace: longrun-extra}
data: {k: v}
`,
	"cluster-rbac": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: longrun-viewer}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: longrun-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: longrun-viewer}
subjects: [{kind: Group, name: longrun-viewers, apiGroup: rbac.authorization.k8s.io}]
`,
	"policy": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 0
  selector: {matchLabels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
	"cron": `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: n, image: registry.example/n:1}]
`,
}

// longRunHold is how long the Applications are watched once they are all
// Synced and Healthy: long enough for a 30s cut to show four times over.
const longRunHold = 150 * time.Second

// TestManyApplicationsLongRun: many Applications of varied kinds sync at
// once to one cluster and then run for minutes. Every one stays Synced and
// Healthy, with no operation left Running; a drift is healed and its health
// seen again; the watches of the cluster run until the API server ends
// them (never cut every 30s by the request timeout), and the log holds no
// "unable to cancel request" nor "cache did not sync".
func TestManyApplicationsLongRun(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	files := map[string]string{}
	for path, manifest := range longRunApps {
		files[path+"/all.yaml"] = manifest
	}
	repo.Commit("main", files)
	env.RegisterCluster(t, "longrun", "dev-3", nil)

	base := harness.TestNamespace(t)
	var names []string
	for path := range longRunApps {
		spec := harness.PlainApp(srv.URL("fleet"), path, base+"-"+path)
		spec.Destination.Cluster = "longrun"
		spec.SyncPolicy.Automated.SelfHeal = true
		spec.SyncPolicy.Interval = harness.Interval(20 * time.Second)
		name := "longrun-" + path
		newApp(t, name, spec)
		names = append(names, name)
	}
	healthy := func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
	}
	for _, name := range names {
		env.WaitApp(t, name, 3*time.Minute, "Synced and Healthy", healthy)
	}
	watchesBefore := clusterRequests(t, "longrun", "WATCH")

	// A drift in the middle: selfHeal puts the ConfigMap back, and its health
	// is read again from the watch, not at the next interval.
	harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", env.Fleet.Kubeconfig(), "--context", "dev-3",
		"-n", base+"-config", "delete", "configmap", "settings")
	env.WaitApp(t, "longrun-config", 30*time.Second, "Healthy again after the drift", healthy)

	deadline := time.Now().Add(longRunHold)
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Second)
		for _, name := range names {
			app := getApp(t, name)
			if !healthy(app) {
				// One look may fall between a drift event and its sync.
				app = env.WaitApp(t, name, 15*time.Second, "Synced and Healthy through the run", healthy)
			}
			if op := app.Status.Operation; op != nil && op.Phase == flotillav1.OperationRunning &&
				op.StartedAt != nil && time.Since(op.StartedAt.Time) > 30*time.Second {
				t.Errorf("Application %s: operation Running since %s", name, op.StartedAt)
			}
		}
	}
	watches := clusterRequests(t, "longrun", "WATCH") - watchesBefore
	kinds := 17 // the kinds of longRunApps
	if watches >= float64(kinds) {
		t.Errorf("%v watch requests to the cluster in %s for %d kinds: watches are cut and restarted", watches, longRunHold, kinds)
	}
	t.Logf("watch requests during the %s run: %v", longRunHold, watches)
	log := env.ControllerLog()
	for _, bad := range []string{"unable to cancel request", "cache did not sync"} {
		if n := strings.Count(log, bad); n > 0 {
			t.Errorf("the controller log says %q %d times", bad, n)
		}
	}
}

// clusterRequests is the controller's count of requests of method to a
// cluster, from flotilla_cluster_requests_total.
func clusterRequests(t *testing.T, cluster, method string) float64 {
	t.Helper()
	families, err := env.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	if f, ok := families["flotilla_cluster_requests_total"]; ok {
		for _, m := range f.GetMetric() {
			if label(m, "cluster") == cluster && label(m, "method") == method {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
