package health_test

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
)

// An Application with a Deployment that is rolling out, a Widget that a CEL
// check finds broken, a ConfigMap, and a Service that was deleted.
func Example() {
	ctx := context.Background()
	checks, err := health.CompileChecks([]flotillav1.HealthCheck{{
		Group: "example.com",
		Kind:  "Widget",
		CEL:   `self.status.phase == 'Failed' ? 'Degraded' : self.status.phase == 'Ready' ? 'Healthy' : 'Progressing'`,
	}}, health.DefaultCheckOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	checker := health.NewChecker(health.Options{Checks: checks})

	var results []health.Result
	for _, doc := range []string{`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 1}
spec: {replicas: 3, selector: {matchLabels: {app: web}}}
status: {observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 1}
`, `
apiVersion: example.com/v1
kind: Widget
metadata: {name: blue, namespace: shop}
status: {phase: Failed}
`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
`} {
		// Decoded as the API machinery does, with integers as int64, like
		// the objects a dynamic client reads.
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			fmt.Println(err)
			return
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			fmt.Println(err)
			return
		}
		results = append(results, checker.Assess(ctx, obj))
	}
	results = append(results, health.Missing(health.Ref{Kind: "Service", Namespace: "shop", Name: "web"}))

	for _, r := range results {
		fmt.Printf("%-11s %s\n", r.Status, r.Message)
	}
	code, message := health.Rollup(results)
	fmt.Printf("Application: %s: %s\n", code, message)
	// Output:
	// Progressing Deployment/shop/web: 1/3 replicas available
	// Degraded    Widget/shop/blue: health check example.com/Widget: Degraded
	// Healthy     ConfigMap/shop/settings: exists, no status to check
	// Missing     Service/shop/web: not found
	// Application: Degraded: Widget/shop/blue: health check example.com/Widget: Degraded
}
