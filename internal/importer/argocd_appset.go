package importer

import (
	"fmt"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// argoApplicationSet converts an ApplicationSet with one list or cluster
// generator into a Fleet: the generator becomes the Fleet's cluster
// selector, the template its template.
func argoApplicationSet(o *object, res *Result) {
	if n := o.count("spec.generators"); n != 1 {
		res.refuse(o.ref(), fmt.Sprintf("it has %d generators; one list or clusters generator converts", n))
		return
	}
	sel := newMapping()
	list := false
	switch {
	case o.has("spec.generators.0.clusters"):
		if labels, ok := o.get("spec.generators.0.clusters.selector.matchLabels").(map[string]any); ok {
			sel.set("matchLabels", anyNode(labels))
		}
		if exprs, ok := o.get("spec.generators.0.clusters.selector.matchExpressions").([]any); ok {
			sel.set("matchExpressions", anyNode(exprs))
		}
		sel.node.Style = yaml.FlowStyle
		res.decide(o.ref(), "Argo CD matched labels on its cluster Secrets; put the same labels on the Flotilla Clusters")
	case o.has("spec.generators.0.list"):
		var names []string
		for i := range o.count("spec.generators.0.list.elements") {
			names = append(names, o.str(fmt.Sprintf("spec.generators.0.list.elements.%d.cluster", i)))
		}
		labels := newMapping()
		k := labels.str("flotilla.dev/fleet-"+o.name, "true")
		k.LineComment = "was a list of clusters: " + strings.Join(names, ", ")
		sel.sub("matchLabels", labels)
		list = true
		res.decide(o.ref(), "label the Clusters %s with flotilla.dev/fleet-%s=true (its list generator named them)", strings.Join(names, ", "), o.name)
	default:
		res.refuse(o.ref(), "its generator is not convertible; list and clusters generators are")
		return
	}
	if len(sel.node.Content) == 0 {
		sel.node.Content = nil // every Cluster
	}
	doc := header("Fleet", o.name, o.get("metadata.labels"))
	spec := newMapping()
	spec.str("project", o.str("spec.template.spec.project"))
	spec.set("clusterSelector", sel.node)
	tmpl := newMapping()
	tmpl.sub("source", argoSource(o, "spec.template.spec.source", res))
	dest := newMapping()
	dest.str("namespace", o.str("spec.template.spec.destination.namespace"))
	o.get("spec.template.spec.destination.server")
	o.get("spec.template.spec.destination.name")
	tmpl.sub("destination", dest)
	tmpl.sub("syncPolicy", argoSyncPolicy(o, "spec.template.spec.syncPolicy"))
	tmpl.set("ignoreDifferences", argoIgnoreDifferences(o, "spec.template.spec.ignoreDifferences"))
	spec.sub("template", tmpl)
	o.get("spec.template.metadata.name") // a Fleet names its Applications <fleet>-<cluster>
	o.get("spec.goTemplate")
	doc.sub("spec", spec)
	placeholders(o, doc.node, list, res)
	res.add(o, argoTool, "Fleet", doc.node)
}

var (
	argoName        = regexp.MustCompile(`\{\{\s*\.?name\s*\}\}`)
	argoLabel       = regexp.MustCompile(`\{\{\s*\.?metadata\.labels\.([A-Za-z0-9_./-]+)\s*\}\}`)
	argoListCluster = regexp.MustCompile(`\{\{\s*\.?cluster\s*\}\}`)
	argoOther       = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

// placeholders rewrites Argo CD's {{name}} and {{metadata.labels.x}} (plain
// or Go templates) into Flotilla's and reports any other.
// A list generator's elements name their cluster in {{cluster}}.
func placeholders(o *object, n *yaml.Node, list bool, res *Result) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "{{") {
		v := argoName.ReplaceAllString(n.Value, "{{ .Cluster.Name }}")
		if list {
			v = argoListCluster.ReplaceAllString(v, "{{ .Cluster.Name }}")
		}
		v = argoLabel.ReplaceAllString(v, `{{ index .Cluster.Labels "$1" }}`)
		for _, m := range argoOther.FindAllString(v, -1) {
			if !strings.Contains(m, ".Cluster.") {
				res.decide(o.ref(), "placeholder %s has no Flotilla equivalent (only the Cluster's name and labels): replace it", m)
			}
		}
		n.Value = v
	}
	for _, c := range n.Content {
		placeholders(o, c, list, res)
	}
}
