package peers

import "fmt"

// folder is the path of the i-th application in the repository.
func folder(i int) string { return fmt.Sprintf("apps/app-%04d", i) }

// name is the i-th application's name: of its namespace and of its objects.
func name(i int) string { return fmt.Sprintf("app-%04d", i) }

// objects are one application's four objects, named after it. With
// namespace set, each names its namespace and a Namespace object comes
// first, as Flux needs; without, the namespace is the destination's.
func objects(i int, namespace bool) map[string]string {
	n := name(i)
	meta := "{name: " + n + "}"
	if namespace {
		meta = "{name: " + n + ", namespace: " + n + "}"
	}
	files := map[string]string{
		"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: ` + meta + `
spec:
  replicas: 0
  selector: {matchLabels: {app: ` + n + `}}
  template:
    metadata: {labels: {app: ` + n + `}}
    spec:
      serviceAccountName: ` + n + `
      containers: [{name: web, image: registry.example/web:1}]
`,
		"serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: " + meta + "\n",
		"service.yaml":        "apiVersion: v1\nkind: Service\nmetadata: " + meta + "\nspec:\n  selector: {app: " + n + "}\n  ports: [{port: 80}]\n",
		"configmap.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: " + meta + "\ndata: {greeting: hello}\n",
	}
	if namespace {
		files["namespace.yaml"] = "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + n + "}\n"
	}
	return files
}

// repository is the whole tree: n folders of objects.
func repository(n int, namespace bool) map[string]string {
	tree := make(map[string]string, 5*n)
	for i := range n {
		for file, content := range objects(i, namespace) {
			tree[folder(i)+"/"+file] = content
		}
	}
	return tree
}
