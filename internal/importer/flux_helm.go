package importer

import (
	"fmt"
	"strings"
)

// fluxHelmRelease converts a HelmRelease whose chart comes from a
// HelmRepository or a GitRepository (spec.chart) or is an OCIRepository
// (spec.chartRef).
func fluxHelmRelease(o *object, in *fluxInput, res *Result) {
	refPath := "spec.chart.spec.sourceRef"
	if o.has("spec.chartRef") {
		refPath = "spec.chartRef"
	}
	src, first := in.source(o, refPath, res)
	if src == nil {
		return
	}
	source := fluxSource(src, o.ref(), res)
	switch {
	case refPath == "spec.chartRef":
		// oci://host/charts/podinfo is Flotilla's repoURL oci://host/charts
		// with chart podinfo.
		url := src.str("spec.url")
		i := strings.LastIndex(url, "/")
		if i <= len("oci://") {
			res.refuse(o.ref(), fmt.Sprintf("its chart %s has no repository path before the chart's name", url))
			return
		}
		source.node.Content[1].Value = url[:i]
		source.str("chart", url[i+1:])
	case src.kind == "HelmRepository":
		source.str("chart", o.str("spec.chart.spec.chart"))
		k := source.str("targetRevision", o.str("spec.chart.spec.version"))
		if k == nil {
			source.str("targetRevision", "*")
		}
	case src.kind == "GitRepository":
		source.str("path", fluxPath(o.str("spec.chart.spec.chart")))
	default:
		res.refuse(o.ref(), fmt.Sprintf("its chart source is a %s; a HelmRelease needs a HelmRepository, a GitRepository or an OCIRepository", src.kind))
		return
	}
	source.sub("helm", fluxHelm(o))
	doc := header("Application", o.name, o.get("metadata.labels"))
	spec := newMapping()
	spec.sub("source", source)
	dest := fluxDestination(o, "spec.targetNamespace", res)
	if !o.has("spec.targetNamespace") {
		dest.str("namespace", o.namespace)
	}
	spec.sub("destination", dest)
	spec.sub("syncPolicy", fluxSyncPolicy(o, true, o.boolean("spec.install.createNamespace")))
	spec.set("dependsOn", fluxDependsOn(o))
	spec.str("deletionPolicy", "Delete")
	doc.sub("spec", spec)
	fluxCommon(o, res)
	if o.has("spec.valuesFrom") {
		res.decide(o.ref(), "spec.valuesFrom reads values from ConfigMaps or Secrets, which Flotilla does not: put them in valueFiles of the repository, or SOPS-encrypted")
	}
	res.add(o, fluxTool, "Application", doc.node, firstSource(src, first)...)
}

// fluxHelm is the release name (Flux's default: [targetNamespace-]name),
// values files and values.
func fluxHelm(o *object) *mapping {
	m := newMapping()
	name := o.str("spec.releaseName")
	if name == "" {
		name = o.name
		if ns := o.str("spec.targetNamespace"); ns != "" {
			name = ns + "-" + name
		}
	}
	m.str("releaseName", name)
	m.set("valueFiles", strs(stringsOf(o.list("spec.chart.spec.valuesFiles"))))
	if v, ok := o.get("spec.values").(map[string]any); ok && len(v) > 0 {
		m.set("values", anyNode(v))
	}
	return m
}
