package harness

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Canary values: a test plants them where a secret lives and searches every
// status, event, log line and answer for them.
const (
	// CanaryPassword is a repository password.
	CanaryPassword = "canary-Zq7pW3xV9"
	// CanaryToken is a bearer token that must reach no server it is not meant for.
	CanaryToken = "canary-bearer-token-Zq81Lw4"
	// LiveCanary is the value of a synced Secret; no live view may show it.
	LiveCanary = "live-canary-Hq4Tz8Wm"
)

// GoodConfigMap is a valid manifest: the ConfigMap good with k: v.
const GoodConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  k: v\n"

// ConfigMapWith is a repository tree whose app/cm.yaml is GoodConfigMap
// with k set to value.
func ConfigMapWith(value string) map[string]string {
	return map[string]string{"app/cm.yaml": strings.Replace(GoodConfigMap, "k: v", "k: "+value, 1)}
}

// LiveWorkload is a Deployment of two Pods with two containers each, a
// Service in front of them and a Secret holding LiveCanary: a tree with
// children, logs and a secret to mask.
const LiveWorkload = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: web, image: registry.example/web:1}
      - {name: sidecar, image: registry.example/sidecar:1}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  token: ` + LiveCanary + `
`

// PlainApp is an automated, pruning Application of path at url's main
// branch into the namespace ns, polled every two seconds.
func PlainApp(url, path, ns string) flotillav1.ApplicationSpec {
	return flotillav1.ApplicationSpec{
		Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: path},
		Destination: flotillav1.Destination{Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: true},
			CreateNamespace: true,
			Interval:        Interval(2 * time.Second),
			Retry:           &flotillav1.RetryPolicy{Backoff: &flotillav1.Backoff{Duration: &metav1.Duration{Duration: time.Second}}},
		},
	}
}

// Interval is d as an API duration.
func Interval(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// TestNamespace is the destination namespace of one test, made from its name,
// so that tests sharing the fleet never touch each other's objects.
func TestNamespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	return strings.Trim(name, "-")
}

// StatusString is an Application's sync status, conditions and operation,
// for a failure message.
func StatusString(app *flotillav1.Application) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sync=%s revision=%s", app.Status.Sync.Status, app.Status.Sync.Revision)
	for _, c := range app.Status.Conditions {
		fmt.Fprintf(&b, "\n  %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	if op := app.Status.Operation; op != nil {
		fmt.Fprintf(&b, "\n  operation %s: %s", op.Phase, op.Message)
	}
	return b.String()
}

// ReadyCondition is the Application's Ready condition, or nil.
func ReadyCondition(app *flotillav1.Application) *metav1.Condition {
	for i := range app.Status.Conditions {
		if app.Status.Conditions[i].Type == flotillav1.ConditionReady {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}

// Synced reports whether the Application is Synced and Ready at its
// current generation.
func Synced(app *flotillav1.Application) bool {
	c := ReadyCondition(app)
	return app.Status.Sync.Status == flotillav1.SyncStatusSynced && c != nil &&
		c.Status == metav1.ConditionTrue && c.ObservedGeneration == app.Generation
}

// FailedWith reports whether the Application's Ready condition is False with reason.
func FailedWith(reason string) func(*flotillav1.Application) bool {
	return func(app *flotillav1.Application) bool {
		c := ReadyCondition(app)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason && c.ObservedGeneration == app.Generation
	}
}

// CheckTree checks the shape of LiveWorkload's tree and returns one of its Pods.
func CheckTree(t testing.TB, tree *wire.Tree) wire.ResourceNode {
	t.Helper()
	deploy := NodesOf(tree, "Deployment")
	rs := NodesOf(tree, "ReplicaSet")
	pods := NodesOf(tree, "Pod")
	slices := NodesOf(tree, "EndpointSlice")
	if len(deploy) != 1 || !deploy[0].Managed || deploy[0].Sync != string(flotillav1.SyncStatusSynced) || deploy[0].Health.Status != "Healthy" {
		t.Fatalf("Deployment node: %s", MustJSON(deploy))
	}
	if len(rs) != 1 || rs[0].Managed || len(rs[0].Parents) != 1 || rs[0].Parents[0].UID != deploy[0].UID {
		t.Fatalf("ReplicaSet node should have the Deployment as parent: %s", MustJSON(rs))
	}
	for _, p := range pods {
		if len(p.Parents) != 1 || p.Parents[0].UID != rs[0].UID || p.Health == nil || p.Health.Status != "Healthy" || p.UID == "" {
			t.Errorf("Pod node should be Healthy under the ReplicaSet: %s", MustJSON(p))
		}
	}
	if slices[0].Parents[0].Kind != "Service" {
		t.Errorf("EndpointSlice should be under the Service: %s", MustJSON(slices))
	}
	return pods[0]
}

// NodesOf is the tree's nodes of one kind.
func NodesOf(tree *wire.Tree, kind string) []wire.ResourceNode {
	var out []wire.ResourceNode
	for _, n := range tree.Nodes {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// UnstructuredString is the string at the path of fields in obj; false when
// there is none.
func UnstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, fmt.Errorf("%s is not an object", f)
		}
		cur = m[f]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

// MustJSON is v as indented JSON, for a failure message.
func MustJSON(v any) string {
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}
