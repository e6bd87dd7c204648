package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path"

	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"
)

// inflatedFile is the file, next to a kustomization with helmCharts, that
// holds its charts' output for kustomize to read as a resource. It exists
// only in kustomizeFS's overrides.
const inflatedFile = ".flotilla-helm-charts.yaml"

// The values merge modes of a helmCharts entry, as kustomize names them.
const (
	valuesMergeOverride = "override" // valuesInline over valuesFile (the default)
	valuesMergeMerge    = "merge"    // valuesFile over valuesInline
	valuesMergeReplace  = "replace"  // valuesInline alone
)

// inflateCharts renders the helmCharts of the kustomization file rel with
// the Helm SDK, as `kustomize build --enable-helm` would with the helm
// binary, and returns the kustomization rewritten to read their output as
// a resource, without its Helm fields. Kustomize never sees a chart: it
// would run a program. The charts are read through the tree, so the
// render's byte, node and object limits cover what they produce.
func (k *kustomizeFS) inflateCharts(rel string, data []byte, scan kustomizationScan) ([]byte, error) {
	dir := path.Dir(rel)
	home := types.HelmDefaultHome
	if scan.globals != nil && scan.globals.ChartHome != "" {
		home = scan.globals.ChartHome
	}
	var stream bytes.Buffer
	for _, hc := range scan.charts {
		objs, err := inflateChart(k.ctx, k.t, rel, path.Join(dir, home), hc, k.fetched)
		if err != nil {
			return nil, err
		}
		for _, u := range objs {
			obj, err := json.Marshal(u.Object)
			if err != nil {
				return nil, newError(ErrMalformed, rel, "helmCharts entry %s: object %s cannot be encoded: %v", quoteShort(hc.Name), keyOf(u), err)
			}
			stream.WriteString("---\n")
			stream.Write(obj)
			stream.WriteString("\n")
		}
	}
	k.overrides[path.Join(dir, inflatedFile)] = stream.Bytes()

	kust := map[string]any{}
	err := decodeManifests(data, rel, false, k.t.b, func(doc int, m map[string]any) error {
		if doc == 1 {
			kust = m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, field := range []string{"helmCharts", "helmGlobals", "helmChartInflationGenerator"} {
		delete(kust, field)
	}
	resources, _ := kust["resources"].([]any)
	kust["resources"] = append(resources, inflatedFile)
	return json.Marshal(kust) // JSON is YAML to kustomize
}

// checkChartEntry refuses what Flotilla does not inflate in a helmCharts
// entry: a chart name with path parts, nameTemplate, an unknown
// valuesMerge.
func checkChartEntry(kfile, entry string, hc types.HelmChart) error {
	switch {
	case !chartNamePattern.MatchString(hc.Name):
		return newError(ErrMalformed, kfile, "%s: the chart name is not a plain name", entry)
	case hc.NameTemplate != "":
		return newError(ErrUnsupported, kfile, "%s: nameTemplate is not supported; set releaseName", entry)
	case hc.ValuesMerge != "" && hc.ValuesMerge != valuesMergeOverride && hc.ValuesMerge != valuesMergeMerge && hc.ValuesMerge != valuesMergeReplace:
		return newError(ErrMalformed, kfile, "%s: valuesMerge %s is none of override, merge, replace", entry, quoteShort(hc.ValuesMerge))
	}
	return nil
}

// inflateChart renders one helmCharts entry of the kustomization file
// kfile, its chart looked up under home (a repository path) as kustomize
// looks it up: home/name, or home/name-version/name for an entry with a
// repo and a version (where `helm pull` would have put it). An entry with a
// repo whose chart is not there takes the one the caller fetched for it.
func inflateChart(ctx context.Context, t *tree, kfile, home string, hc types.HelmChart, fetched []FetchedChart) ([]*unstructured.Unstructured, error) {
	entry := "helmCharts entry " + quoteShort(hc.Name)
	if err := checkChartEntry(kfile, entry, hc); err != nil {
		return nil, err
	}
	dir, ok := vendoredChartDir(home, hc)
	if !ok {
		return nil, newError(ErrOutsideRoot, kfile, "%s: its chart folder is outside the repository", entry)
	}
	real, err := chartFolder(t, dir)
	if err != nil {
		return nil, err
	}
	vals, err := chartValues(t, path.Dir(kfile), hc)
	if err != nil {
		return nil, err
	}
	ct := t // the tree the chart is read from
	if real == "" {
		fc := fetchedKustomizeChart(fetched, hc)
		switch {
		case fc != nil:
			// Read as Helm reads a chart archive, charged to this render.
			if ct, err = openTree(fc.Dir, t.b); err != nil {
				return nil, err
			}
			defer ct.close()
			real, dir = hc.Name, path.Join(path.Dir(kfile), hc.Name+"-"+fc.Version+".tgz")
			if ok, err := hasFile(ct, path.Join(real, chartFile)); !ok || err != nil {
				if err == nil {
					err = newError(ErrMalformed, kfile, "%s: the chart fetched from %s has no %s", entry, redactRef(hc.Repo), chartFile)
				}
				return nil, err
			}
		case hc.Repo != "":
			return nil, newError(ErrUnsupported, kfile,
				"%s from %s is not in the repository at %s, nor fetched for this render: vendor it there (helm pull --untar), or sync it through an Application whose Project allows %s",
				entry, redactRef(hc.Repo), dir, redactRef(hc.Repo))
		default:
			return nil, newError(ErrNotFound, kfile, "%s: there is no chart at %s", entry, dir)
		}
	}
	if err != nil {
		return nil, err
	}
	ho, err := chartOptions(kfile, entry, hc, vals)
	if err != nil {
		return nil, err
	}
	var crds int
	if !hc.IncludeCRDs {
		if crds, err = countChartCRDs(ctx, ct, real, dir, vals); err != nil {
			return nil, err
		}
	}
	objects := t.b.objects
	objs, err := renderHelm(ctx, ct, real, dir, ho)
	if err != nil {
		return nil, err
	}
	// The chart's objects count once, in kustomize's output: here each
	// chart alone met the limit.
	t.b.objects = objects
	objs = objs[min(crds, len(objs)):] // the CRDs of crds/ come first
	if hc.SkipHooks {
		kept := objs[:0]
		for _, u := range objs {
			if _, hook := u.GetAnnotations()[hookAnnotation]; !hook {
				kept = append(kept, u)
			}
		}
		objs = kept
	}
	return objs, nil
}

// chartFolder returns the resolved folder of the chart at rel, or "" when
// there is none.
func chartFolder(t *tree, rel string) (string, error) {
	real, fi, err := t.resolve(rel)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	if !fi.IsDir() {
		return "", nil
	}
	if ok, err := hasFile(t, path.Join(real, chartFile)); !ok || err != nil {
		return "", err
	}
	return real, nil
}

// chartValues merges an entry's values as kustomize hands them to helm:
// valuesFile and valuesInline merged per valuesMerge, then
// additionalValuesFiles in order. Files are relative to the
// kustomization's folder kdir.
func chartValues(t *tree, kdir string, hc types.HelmChart) (map[string]any, error) {
	inline := map[string]any{}
	if len(hc.ValuesInline) > 0 {
		raw, err := json.Marshal(hc.ValuesInline)
		if err != nil {
			return nil, newError(ErrMalformed, path.Join(kdir, "kustomization"), "helmCharts entry %s: valuesInline: %v", quoteShort(hc.Name), err)
		}
		if inline, err = inlineValues(raw, t.b); err != nil {
			return nil, err
		}
	}
	file := map[string]any{}
	if hc.ValuesFile != "" && hc.ValuesMerge != valuesMergeReplace {
		var err error
		if file, err = helmValues(t, kdir, HelmOptions{ValueFiles: []string{hc.ValuesFile}}); err != nil {
			return nil, err
		}
	}
	var vals map[string]any
	if hc.ValuesMerge == valuesMergeMerge {
		vals = mergeValues(inline, file)
	} else {
		vals = mergeValues(file, inline)
	}
	extra, err := helmValues(t, kdir, HelmOptions{ValueFiles: hc.AdditionalValuesFiles})
	if err != nil {
		return nil, err
	}
	return mergeValues(vals, extra), nil
}

// chartOptions are the HelmOptions of an entry. Without a releaseName the
// release is named after the chart: kustomize would have helm generate a
// random name, which no sync could keep.
func chartOptions(kfile, entry string, hc types.HelmChart, vals map[string]any) (HelmOptions, error) {
	raw, err := json.Marshal(vals)
	if err != nil {
		return HelmOptions{}, newError(ErrMalformed, kfile, "%s: values cannot be encoded: %v", entry, err)
	}
	ho := HelmOptions{
		ReleaseName: orDefault(hc.ReleaseName, hc.Name),
		Namespace:   hc.Namespace,
		Values:      raw,
		KubeVersion: hc.KubeVersion,
		APIVersions: hc.ApiVersions,
	}
	if ho.KubeVersion != "" {
		if _, err := chartutil.ParseKubeVersion(ho.KubeVersion); err != nil {
			return HelmOptions{}, newError(ErrMalformed, kfile, "%s: kubeVersion %s: %v", entry, quoteShort(ho.KubeVersion), err)
		}
	}
	for _, v := range ho.APIVersions {
		if v == "" || hasControl(v) || len(v) > maxPathLen {
			return HelmOptions{}, newError(ErrMalformed, kfile, "%s: API version %s is not valid", entry, quoteShort(v))
		}
	}
	return ho, nil
}

// countChartCRDs counts the objects of the crds/ folders that the chart at
// real renders with vals (renderHelm puts them first), so that an entry
// without includeCRDs leaves them out as `helm template` does. The chart
// is read a second time on a copy of the budget: the limits hold for this
// read, and the render's own read is charged once.
func countChartCRDs(ctx context.Context, t *tree, real, shown string, vals map[string]any) (int, error) {
	shadow := *t.b
	view := *t
	view.b = &shadow
	chrt, err := loadChart(ctx, &view, real, shown)
	if err != nil {
		return 0, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return 0, newError(ErrMalformed, orDot(shown), "dependencies cannot be processed: %s", helmErrorText(err))
	}
	crds, err := helmObjects(ctx, chrt, nil, shown, &shadow)
	return len(crds), err
}
