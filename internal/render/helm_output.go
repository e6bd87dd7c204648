package render

import (
	"context"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hookAnnotation marks a Helm hook and lists the events that run it.
const hookAnnotation = "helm.sh/hook"

// testHookEvents run only with `helm test`; their objects are left out. Other
// hooks are rendered with their annotations: the engine runs pre-install and
// pre-upgrade hooks before the sync's waves and post-install and
// post-upgrade ones after them, ordered by hook-weight (see internal/hook).
var testHookEvents = map[string]bool{"test": true, "test-success": true, "test-failure": true}

// helmObjects turns a chart's output into objects, decoded, limited and
// checked for duplicates as a plain folder's are: first the CRDs of crds/
// (the chart's, then its subcharts'), as Helm installs them before
// anything else; then the rendered templates in Helm's install order of
// kinds, then by template file and position in it. NOTES.txt, partials
// ("_" files) and empty output are skipped, as Helm skips them.
func helmObjects(ctx context.Context, chrt *chart.Chart, files map[string]string, shown string, b *budget) ([]*unstructured.Unstructured, error) {
	dups := duplicates{}
	var crds []*unstructured.Unstructured
	for _, crd := range chrt.CRDObjects() {
		file := chartFilePath(chrt, shown, crd.Filename)
		if err := decodeHelmFile(ctx, file, string(crd.File.Data), b, dups, &crds); err != nil {
			return nil, err
		}
	}
	var objs []*unstructured.Unstructured
	for _, name := range slices.Sorted(maps.Keys(files)) {
		content := files[name]
		if strings.HasPrefix(path.Base(name), "_") || strings.HasSuffix(name, "NOTES.txt") || strings.TrimSpace(content) == "" {
			continue
		}
		file := chartFilePath(chrt, shown, name)
		// Rendered output is charged like a file read: a template that
		// writes a huge manifest meets the same limits as a huge file.
		if err := b.takeBytes(file, int64(len(content))); err != nil {
			return nil, err
		}
		if err := decodeHelmFile(ctx, file, content, b, dups, &objs); err != nil {
			return nil, err
		}
	}
	sortByInstallOrder(objs)
	return append(crds, objs...), nil
}

func decodeHelmFile(ctx context.Context, file, content string, b *budget, dups duplicates, out *[]*unstructured.Unstructured) error {
	return decodeManifests(content, file, false, b, func(doc int, m map[string]any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		objs, err := objectsOf(file, doc, m)
		if err != nil {
			return err
		}
		kept := objs[:0]
		for _, u := range objs {
			if !isTestHook(u) {
				kept = append(kept, u)
			}
		}
		if err := b.takeObjects(file, doc, len(kept)); err != nil {
			return err
		}
		for _, u := range kept {
			if err := dups.add(u, file, doc); err != nil {
				return err
			}
		}
		*out = append(*out, kept...)
		return nil
	})
}

func isTestHook(u *unstructured.Unstructured) bool {
	hooks, ok := u.GetAnnotations()[hookAnnotation]
	if !ok {
		return false
	}
	for _, event := range strings.Split(hooks, ",") {
		if testHookEvents[strings.TrimSpace(event)] {
			return true
		}
	}
	return false
}

// sortByInstallOrder orders objects by kind as `helm install` applies them;
// kinds Helm does not list come last. Ties keep their order.
func sortByInstallOrder(objs []*unstructured.Unstructured) {
	rank := make(map[string]int, len(releaseutil.InstallOrder))
	for i, kind := range releaseutil.InstallOrder {
		rank[kind] = i + 1
	}
	last := len(releaseutil.InstallOrder) + 1
	of := func(u *unstructured.Unstructured) int {
		if r, ok := rank[u.GetKind()]; ok {
			return r
		}
		return last
	}
	sort.SliceStable(objs, func(i, j int) bool { return of(objs[i]) < of(objs[j]) })
}

// chartFilePath turns a name in Helm's output ("mychart/templates/a.yaml",
// the chart's name first) into a repository path.
func chartFilePath(chrt *chart.Chart, shown, name string) string {
	rest := strings.TrimPrefix(name, chrt.Name()+"/")
	return orDot(path.Join(shown, rest))
}

// templateError names the template file a Helm engine error is about (the
// first one its message mentions; the chart's folder if none).
func templateError(chrt *chart.Chart, shown string, err error) error {
	msg := helmErrorText(err)
	file := orDot(shown)
	ref := regexp.MustCompile(regexp.QuoteMeta(chrt.Name()+"/") + `[^\s:()"<>]+`)
	if m := ref.FindString(msg); m != "" {
		file = chartFilePath(chrt, shown, m)
	}
	return newError(ErrMalformed, file, "helm template failed: %s", msg)
}
