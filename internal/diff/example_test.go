package diff_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/diff"
)

func deployment(image string, replicas int64, resourceVersion string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata": map[string]any{
			"name": "web", "namespace": "shop", "resourceVersion": resourceVersion,
		},
		"spec": map[string]any{
			"replicas": replicas,
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "web", "image": image},
			}}},
		},
		"status": map[string]any{"readyReplicas": replicas},
	}}
}

func Example() {
	// Replicas are the autoscaler's business: not drift.
	d, err := diff.New(diff.Options{IgnoreDifferences: []flotillav1.IgnoreDifference{
		{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	desired := deployment("nginx:1.28", 2, "41")
	live := deployment("nginx:1.27", 5, "40")
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "db", "namespace": "shop"},
		"stringData": map[string]any{"password": "correct horse battery staple"},
	}}

	rep, err := d.Objects([]diff.Pair{
		{Desired: desired, Live: live},
		{Desired: secret}, // to create
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Results {
		fmt.Println(r.Object, r.Action, r.Paths)
	}
	fmt.Print(rep)

	// A rule that cannot be used is refused before anything is diffed.
	_, err = diff.New(diff.Options{IgnoreDifferences: []flotillav1.IgnoreDifference{
		{Kind: "Service", JSONPointers: []string{"spec/clusterIP"}},
	}})
	fmt.Println(err)
	// Output:
	// Secret/shop/db Create [/apiVersion /data /kind /metadata]
	// Deployment.apps/shop/web Update [/spec/template/spec/containers/0/image]
	// --- live/Secret/shop/db
	// +++ desired/Secret/shop/db
	// @@ -0,0 +1,7 @@
	// +apiVersion: v1
	// +data:
	// +  password: ++++++++
	// +kind: Secret
	// +metadata:
	// +  name: db
	// +  namespace: shop
	// --- live/Deployment.apps/shop/web
	// +++ desired/Deployment.apps/shop/web
	// @@ -7,5 +7,5 @@
	//    template:
	//      spec:
	//        containers:
	// -      - image: nginx:1.27
	// +      - image: nginx:1.28
	//          name: web
	// ignoreDifferences[0] (Service): jsonPointers[0]: invalid JSON pointer "spec/clusterIP": must be empty or start with "/"
}
