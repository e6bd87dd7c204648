package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// HelmOptions are the inputs of a Helm chart's render: an Application's
// spec.source.helm, and what the engine knows of the release and of the
// cluster it targets. ReleaseName, Namespace, KubeVersion and APIVersions
// matter only when Path is a chart; ValueFiles and Values on a path that is
// not a chart are an error.
type HelmOptions struct {
	// ReleaseName is .Release.Name; empty: "release-name", as `helm
	// template` says.
	ReleaseName string
	// Namespace is .Release.Namespace; empty: "default".
	Namespace string
	// ValueFiles are values files of the source, relative to the chart's
	// folder, merged in order over the chart's own values. They may climb
	// out of the chart's folder with ".." but never out of the repository;
	// they are checked like Path before anything is read, and read through
	// the same confined file access.
	ValueFiles []string
	// Values is a JSON object merged last, over the value files, as a
	// values file would be.
	Values json.RawMessage
	// KubeVersion is .Capabilities.KubeVersion, such as "v1.37.2"; empty:
	// Helm's built-in default (v1.20.0).
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions: "group/version"
	// or "group/version/Kind".
	APIVersions []string
	// Dependencies are the chart's dependencies the caller fetched, as
	// ChartDependencies listed them; they go where `helm dependency build`
	// would put them, beside what charts/ holds.
	Dependencies []FetchedChart
}

func (o HelmOptions) hasValues() bool {
	return len(o.ValueFiles) > 0 || len(o.Values) > 0
}

const (
	// chartFile makes a folder a Helm chart.
	chartFile = "Chart.yaml"
	// defaultReleaseName and defaultReleaseNamespace are what `helm
	// template` uses when it is told neither.
	defaultReleaseName      = "release-name"
	defaultReleaseNamespace = "default"
	// helmValuesField names Values in errors.
	helmValuesField = "helm values"
)

// checkHelmOptions refuses options that cannot work, before any read: a
// value file path that is absolute, URL-encoded, a URL, or leaves the
// repository; values that are not a JSON object; a bad Kubernetes version.
func (r *Renderer) checkHelmOptions(rel string, ho HelmOptions) error {
	for _, vf := range ho.ValueFiles {
		if _, err := valueFilePath(rel, vf); err != nil {
			return err
		}
	}
	if len(ho.Values) > 0 {
		if _, err := inlineValues(ho.Values, newBudget(r.opts)); err != nil {
			return err
		}
	}
	if ho.KubeVersion != "" {
		if _, err := chartutil.ParseKubeVersion(ho.KubeVersion); err != nil {
			return &Error{Kind: ErrMalformed, Msg: fmt.Sprintf("Kubernetes version %s: %v", quoteShort(ho.KubeVersion), err)}
		}
	}
	if len(ho.Dependencies) > maxChartDependencies {
		return &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("%d fetched dependencies, more than %d", len(ho.Dependencies), maxChartDependencies)}
	}
	for _, d := range ho.Dependencies {
		if !chartNamePattern.MatchString(d.Name) || d.Dir == "" {
			return &Error{Kind: ErrMalformed, Msg: fmt.Sprintf("fetched dependency %s is not a plain chart name with a folder", quoteShort(d.Name))}
		}
	}
	for _, v := range ho.APIVersions {
		if v == "" || hasControl(v) || len(v) > maxPathLen {
			return &Error{Kind: ErrMalformed, Msg: fmt.Sprintf("API version %s is not valid", quoteShort(v))}
		}
	}
	return nil
}

// valueFilePath checks a value file given relative to the chart at rel and
// returns its repository path. The check is lexical, like the one of Path.
func valueFilePath(rel, vf string) (string, error) {
	if isRemoteRef(vf) {
		return "", &Error{Kind: ErrRemote, Msg: "value file " + redactRef(vf) + " is remote; only files of the source are read"}
	}
	field := "value file " + quoteShort(vf)
	if vf == "" {
		return "", &Error{Kind: ErrInvalidPath, Msg: "a value file path is empty"}
	}
	if why := badPathReason(vf); why != "" && why != "leaves the repository root" {
		return "", &Error{Kind: ErrInvalidPath, Msg: field + " " + why}
	}
	joined := path.Join(rel, vf)
	if joined == ".." || len(joined) > 2 && joined[:3] == "../" {
		return "", &Error{Kind: ErrInvalidPath, Msg: field + " leaves the repository root"}
	}
	return joined, nil
}

// helmKey is what of ho the render of rel depends on: all of it for a chart;
// for anything else only the values (which make such a render fail), so that
// every Application rendering the same plain folder or kustomization shares
// one render whatever its release name.
func (r *Renderer) helmKey(root, rel string, ho HelmOptions) (HelmOptions, error) {
	// What was fetched for the render keys it whatever the path's kind: a
	// chart's dependencies, a kustomization's helmCharts.
	values := HelmOptions{ValueFiles: ho.ValueFiles, Values: ho.Values, Dependencies: ho.Dependencies}
	if ho.ReleaseName == "" && ho.Namespace == "" && ho.KubeVersion == "" && len(ho.APIVersions) == 0 {
		return values, nil
	}
	kind, err := r.detect(root, rel)
	if err != nil {
		return HelmOptions{}, err
	}
	if kind == KindHelm {
		return ho, nil
	}
	return values, nil
}

// renderHelm renders the chart in the folder dir (a repository path without
// links; shown is how the request named it) as `helm template` would, with
// its CRDs, without a release, a cluster or a network: dependencies that
// charts/ does not hold come from the repository (file://) or from what the
// caller fetched (ho.Dependencies).
func renderHelm(ctx context.Context, t *tree, dir, shown string, ho HelmOptions) ([]*unstructured.Unstructured, error) {
	chrt, err := loadChart(ctx, t, dir, shown)
	if err != nil {
		return nil, err
	}
	if err := attachDependencies(ctx, t, chrt, dir, shown, ho.Dependencies); err != nil {
		return nil, err
	}
	if err := checkChart(chrt, shown, t.b); err != nil {
		return nil, err
	}
	vals, err := helmValues(t, shown, ho)
	if err != nil {
		return nil, err
	}
	release := chartutil.ReleaseOptions{
		Name:      orDefault(ho.ReleaseName, defaultReleaseName),
		Namespace: orDefault(ho.Namespace, defaultReleaseNamespace),
		Revision:  1,
		IsInstall: true,
	}
	if err := chartutil.ValidateReleaseName(release.Name); err != nil {
		return nil, &Error{Kind: ErrMalformed, Msg: fmt.Sprintf("release name %s: %v (set spec.source.helm.releaseName)", quoteShort(release.Name), err)}
	}
	caps, err := capabilities(ho)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return nil, newError(ErrMalformed, orDot(shown), "dependencies cannot be processed: %s", helmErrorText(err))
	}
	top, err := chartutil.ToRenderValues(chrt, vals, release, caps) // enforces values.schema.json
	if err != nil {
		return nil, newError(ErrMalformed, orDot(shown), "%s", strings.TrimSpace(helmErrorText(err)))
	}
	files, err := runHelmEngine(chrt, top)
	if err != nil {
		return nil, templateError(chrt, shown, err)
	}
	return helmObjects(ctx, chrt, files, shown, t.b)
}

// capabilities are what .Capabilities tells the chart: Helm's defaults,
// with the Kubernetes version and API versions of the request.
func capabilities(ho HelmOptions) (*chartutil.Capabilities, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	if ho.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(ho.KubeVersion)
		if err != nil {
			return nil, &Error{Kind: ErrMalformed, Msg: fmt.Sprintf("Kubernetes version %s: %v", quoteShort(ho.KubeVersion), err)}
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(append(chartutil.VersionSet{}, caps.APIVersions...), ho.APIVersions...)
	return caps, nil
}

// runHelmEngine renders the templates. The engine has no cluster client, so
// `lookup` finds nothing, and DNS lookups are off (getHostByName returns
// ""). A panic in a template function is one failed render, not a crash.
func runHelmEngine(chrt *chart.Chart, top chartutil.Values) (files map[string]string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the template engine stopped unexpectedly: %v", p)
		}
	}()
	var e engine.Engine // no client: lookup returns nothing; EnableDNS false
	return e.Render(chrt, top)
}

// helmValues merges the value files in order, then the inline values, as
// `helm template -f a.yaml -f b.yaml` would.
func helmValues(t *tree, chartRel string, ho HelmOptions) (map[string]any, error) {
	vals := map[string]any{}
	for _, vf := range ho.ValueFiles {
		rel, err := valueFilePath(chartRel, vf)
		if err != nil {
			return nil, err
		}
		data, err := t.readFile(rel)
		if err != nil {
			return nil, err
		}
		if data, err = t.decrypt(rel, data); err != nil {
			return nil, err
		}
		if err := checkYAML(rel, data, t.b); err != nil {
			return nil, err
		}
		m, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, newError(ErrMalformed, rel, "is not a values file: %s", helmErrorText(err))
		}
		vals = mergeValues(vals, m)
	}
	if len(ho.Values) > 0 {
		m, err := inlineValues(ho.Values, t.b)
		if err != nil {
			return nil, err
		}
		vals = mergeValues(vals, m)
	}
	return vals, nil
}

// inlineValues parses Values: a JSON object, nested no deeper than the
// limit, read as a values file would be (numbers as float64, as Helm does).
func inlineValues(raw json.RawMessage, b *budget) (map[string]any, error) {
	objects := 0
	err := decodeManifests([]byte(raw), "", true, b, func(int, map[string]any) error {
		objects++
		return nil
	})
	var e *Error
	if errors.As(err, &e) {
		return nil, &Error{Kind: e.Kind, Msg: helmValuesField + ": " + e.Msg}
	}
	if err != nil {
		return nil, err
	}
	if objects > 1 {
		return nil, &Error{Kind: ErrMalformed, Msg: helmValuesField + " hold more than one JSON value"}
	}
	m, err := chartutil.ReadValues(raw)
	if err != nil {
		return nil, &Error{Kind: ErrMalformed, Msg: helmValuesField + ": " + helmErrorText(err)}
	}
	return m, nil
}

// mergeValues merges src into dst: maps merge key by key, anything else in
// src replaces what dst holds.
func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
