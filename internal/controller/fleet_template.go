package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/template"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// templateData is what a Fleet template's strings may refer to.
type templateData struct {
	Cluster templateCluster
}

type templateCluster struct {
	Name   string
	Labels map[string]string
}

// maxTemplateOutput bounds what one templated string may grow to.
const maxTemplateOutput = 64 << 10

// stampSpec returns the Application spec a Fleet generates for one cluster:
// every string of the template executed with the cluster's name and labels,
// the destination set to the cluster and the project to the Fleet's. The
// template cannot choose its own project or cluster.
func stampSpec(f *flotillav1.Fleet, c *flotillav1.Cluster) (flotillav1.ApplicationSpec, error) {
	raw, err := json.Marshal(f.Spec.Template)
	if err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	data := templateData{Cluster: templateCluster{Name: c.Name, Labels: c.Labels}}
	if data.Cluster.Labels == nil {
		data.Cluster.Labels = map[string]string{}
	}
	tree, err = expand(tree, data, "template")
	if err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	raw, err = json.Marshal(tree)
	if err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	var t flotillav1.FleetTemplate
	if err := json.Unmarshal(raw, &t); err != nil {
		return flotillav1.ApplicationSpec{}, err
	}
	project := f.Spec.Project
	if project == "" {
		project = flotillav1.DefaultProject
	}
	return flotillav1.ApplicationSpec{
		Project:           project,
		Source:            t.Source,
		Destination:       flotillav1.Destination{Cluster: c.Name, Namespace: t.Destination.Namespace},
		SyncPolicy:        t.SyncPolicy,
		IgnoreDifferences: t.IgnoreDifferences,
		HealthChecks:      t.HealthChecks,
	}, nil
}

// expand executes every string in the tree as a Go template.
func expand(node any, data templateData, path string) (any, error) {
	switch v := node.(type) {
	case string:
		return expandString(v, data, path)
	case map[string]any:
		for k, child := range v {
			out, err := expand(child, data, path+"."+k)
			if err != nil {
				return nil, err
			}
			v[k] = out
		}
		return v, nil
	case []any:
		for i, child := range v {
			out, err := expand(child, data, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			v[i] = out
		}
		return v, nil
	default:
		return v, nil
	}
}

func expandString(s string, data templateData, path string) (string, error) {
	if !bytes.Contains([]byte(s), []byte("{{")) {
		return s, nil
	}
	tmpl, err := template.New(path).Option("missingkey=error").Parse(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var out limitedWriter
	if err := tmpl.Execute(&out, data); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return out.String(), nil
}

// limitedWriter fails past maxTemplateOutput bytes.
type limitedWriter struct{ bytes.Buffer }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > maxTemplateOutput {
		return 0, fmt.Errorf("template output exceeds %d bytes", maxTemplateOutput)
	}
	return w.Buffer.Write(p)
}
