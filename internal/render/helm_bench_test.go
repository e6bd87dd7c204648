package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// largeChart writes a chart of services templates into dir/big: each
// renders a Deployment, a Service and a ConfigMap through shared helpers,
// loops and toYaml, as large public charts do. It returns the objects one
// render yields.
func largeChart(tb testing.TB, dir string, services int) int {
	tb.Helper()
	files := map[string]string{
		"big/Chart.yaml": "apiVersion: v2\nname: big\nversion: 1.0.0\nappVersion: \"2.0.0\"\n",
		"big/templates/_helpers.tpl": `{{- define "big.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}
`,
	}
	var values strings.Builder
	values.WriteString("replicaCount: 1\nimage: {repository: registry.example/big, tag: \"2.0.0\"}\nservices:\n")
	for i := range services {
		fmt.Fprintf(&values, "  svc%03d:\n    port: %d\n    env:\n", i, 8000+i)
		for j := range 8 {
			fmt.Fprintf(&values, "      - {name: SETTING_%d, value: \"value-%d-%d\"}\n", j, i, j)
		}
		fmt.Fprintf(&values, "    config:\n")
		for j := range 10 {
			fmt.Fprintf(&values, "      key%d: \"%s\"\n", j, strings.Repeat("x", 40))
		}
		files[fmt.Sprintf("big/templates/svc%03d.yaml", i)] = fmt.Sprintf(`{{- $name := "svc%03d" -}}
{{- $svc := index .Values.services $name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ $name }}
  labels:
    {{- include "big.labels" (dict "name" $name "root" .) | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: {{ $name }}}
  template:
    metadata:
      labels:
        app: {{ $name }}
        {{- include "big.labels" (dict "name" $name "root" .) | nindent 8 }}
    spec:
      containers:
        - name: main
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports: [{containerPort: {{ $svc.port }}}]
          env:
            {{- toYaml $svc.env | nindent 12 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-{{ $name }}
  labels:
    {{- include "big.labels" (dict "name" $name "root" .) | nindent 4 }}
spec:
  selector: {app: {{ $name }}}
  ports: [{port: 80, targetPort: {{ $svc.port }}}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ $name }}
data:
  {{- range $k, $v := $svc.config }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
`, i)
	}
	files["big/values.yaml"] = values.String()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return 3 * services
}

// benchServices makes the large chart about the size of the largest public
// charts: 600 objects from 200 templates.
const benchServices = 200

func renderChart(b *testing.B, r *Renderer, root string, ho HelmOptions, want int) {
	b.Helper()
	res, err := r.Render(context.Background(), Request{Root: root, Path: "big", Revision: "bench@1", Helm: ho})
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Objects) != want {
		b.Fatalf("%d objects, want %d", len(res.Objects), want)
	}
}

// BenchmarkHelmLargeChartCold: one render of a large chart by a new
// Renderer: load, template, decode.
func BenchmarkHelmLargeChartCold(b *testing.B) {
	root := b.TempDir()
	want := largeChart(b, root, benchServices)
	ho := HelmOptions{ReleaseName: "big", Namespace: "big"}
	for b.Loop() {
		renderChart(b, New(DefaultOptions()), root, ho, want)
	}
}

// BenchmarkHelmLargeChartCached: the same render again, as every
// Application of a fleet asks it: served from the render cache.
func BenchmarkHelmLargeChartCached(b *testing.B) {
	root := b.TempDir()
	want := largeChart(b, root, benchServices)
	ho := HelmOptions{ReleaseName: "big", Namespace: "big"}
	r := New(DefaultOptions())
	renderChart(b, r, root, ho, want)
	for b.Loop() {
		renderChart(b, r, root, ho, want)
	}
}

// BenchmarkHelm100AppsSharedChart: 100 Applications render one chart with
// different values each (a fleet's per-cluster settings): 100 renders, no
// two alike. A small chart, as such fleets use.
func BenchmarkHelm100AppsSharedChart(b *testing.B) {
	root := b.TempDir()
	want := largeChart(b, root, 10)
	r := New(DefaultOptions())
	round := 0
	for b.Loop() {
		round++ // every round's values are new: no render is served from the cache
		for i := range 100 {
			ho := HelmOptions{ReleaseName: "big", Namespace: "big", Values: fmt.Appendf(nil, `{"replicaCount": %d, "image": {"tag": "%d.%d"}}`, i+1, round, i)}
			renderChart(b, r, root, ho, want)
		}
	}
}
