package render

import (
	"context"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/kustomize/api/types"
)

// maxListedKustomizations bounds the kustomizations read to list the
// remote charts of a kustomize path: real overlays stack a handful.
const maxListedKustomizations = 256

// kustomizeCharts lists the charts of the helmCharts entries that the
// kustomization in the folder dir (a repository path without links), and
// the local kustomizations it reads as resources or components, take from
// a Helm repository or an OCI registry and that the repository does not
// vendor under their chartHome (vendored charts win). Files are read through
// the tree, so the render's limits bound the walk; what the walk cannot
// read is left for the render to report.
func kustomizeCharts(ctx context.Context, t *tree, dir string) ([]ChartDependency, error) {
	seen := map[string]bool{}
	queue := []string{dir}
	var out []ChartDependency
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		if len(seen) > maxListedKustomizations {
			return nil, newError(ErrTooLarge, orDot(dir), "reads more than %d kustomizations", maxListedKustomizations)
		}
		file, k, err := readKustomization(t, d)
		if err != nil || k == nil {
			return nil, err
		}
		for _, ref := range append(append([]string{}, k.Resources...), k.Components...) {
			if strings.Contains(ref, "\n") || checkRef(file, ref) != nil {
				continue // refused by the render, naming it
			}
			real, fi, err := t.resolve(path.Join(d, ref))
			if err != nil || !fi.IsDir() {
				continue
			}
			queue = append(queue, real)
		}
		if out, err = remoteCharts(t, d, file, k, out); err != nil {
			return nil, err
		}
	}
	if len(out) > maxChartDependencies {
		return nil, newError(ErrTooLarge, orDot(dir), "%d charts of helmCharts entries to fetch, more than %d", len(out), maxChartDependencies)
	}
	return out, nil
}

// readKustomization reads and checks the kustomization file of the folder
// dir; it returns nil for a folder without one or a file that kustomize
// would refuse to parse (the render reports it).
func readKustomization(t *tree, dir string) (string, *types.Kustomization, error) {
	for _, name := range kustomizationNames {
		file := path.Join(dir, name)
		ok, err := hasFile(t, file)
		if err != nil || !ok {
			if err != nil {
				return "", nil, err
			}
			continue
		}
		data, err := t.readFile(file)
		if err != nil {
			return "", nil, err
		}
		if err := checkYAML(file, data, t.b); err != nil {
			return "", nil, err
		}
		var k types.Kustomization
		if err := k.Unmarshal(data); err != nil {
			return "", nil, nil
		}
		k.FixKustomization()
		return file, &k, nil
	}
	return "", nil, nil
}

// vendoredChartDir is where kustomize looks for the chart of an entry under
// home: home/name, or home/name-version/name for an entry with a repo and a
// version (where `helm pull` would have put it). It is false when that
// leaves the repository.
func vendoredChartDir(home string, hc types.HelmChart) (string, bool) {
	dir := home
	if hc.Repo != "" && hc.Version != "" {
		dir = path.Join(dir, hc.Name+"-"+hc.Version)
	}
	dir = path.Join(dir, hc.Name)
	return dir, dir != ".." && !strings.HasPrefix(dir, "../")
}

func containsDependency(deps []ChartDependency, d ChartDependency) bool {
	for _, x := range deps {
		if x.Name == d.Name && x.Version == d.Version && strings.TrimSuffix(x.Repository, "/") == strings.TrimSuffix(d.Repository, "/") {
			return true
		}
	}
	return false
}

// fetchedKustomizeChart finds the chart the caller fetched for a helmCharts
// entry: same name and repository, and the entry's version when it gives
// one (else the highest, which the caller resolved).
func fetchedKustomizeChart(fetched []FetchedChart, hc types.HelmChart) *FetchedChart {
	for i, f := range fetched {
		if f.Name != hc.Name || strings.TrimSuffix(f.Repository, "/") != strings.TrimSuffix(hc.Repo, "/") {
			continue
		}
		if hc.Version == "" || strings.TrimPrefix(f.Version, "v") == strings.TrimPrefix(hc.Version, "v") {
			return &fetched[i]
		}
	}
	return nil
}

// remoteCharts adds to out the charts of the kustomization k (in the
// folder d, read from file) that come from a Helm repository or an OCI
// registry and are not vendored under its chartHome.
func remoteCharts(t *tree, d, file string, k *types.Kustomization, out []ChartDependency) ([]ChartDependency, error) {
	home := types.HelmDefaultHome
	if k.HelmGlobals != nil && k.HelmGlobals.ChartHome != "" {
		home = k.HelmGlobals.ChartHome
	}
	for _, hc := range k.HelmCharts {
		if hc.Repo == "" || !chartNamePattern.MatchString(hc.Name) {
			continue // read from the repository, or refused by the render
		}
		cdir, ok := vendoredChartDir(path.Join(d, home), hc)
		if !ok {
			continue // refused by the render
		}
		if real, err := chartFolder(t, cdir); err != nil || real != "" {
			if err != nil {
				return nil, err
			}
			continue
		}
		entry := "helmCharts entry " + quoteShort(hc.Name)
		if !fetchable(hc.Repo) {
			return nil, newError(ErrRemote, file, "%s names repository %s, not a URL: name it by its https:// or oci:// URL, or vendor the chart at %s",
				entry, redactRef(hc.Repo), cdir)
		}
		if hc.Version != "" {
			if _, err := semver.StrictNewVersion(strings.TrimPrefix(hc.Version, "v")); err != nil {
				return nil, newError(ErrMalformed, file, "%s: version %s is not an exact version: give one (or none, for the highest)", entry, quoteShort(hc.Version))
			}
		}
		dep := ChartDependency{Name: hc.Name, Repository: hc.Repo, Version: hc.Version}
		if !containsDependency(out, dep) {
			out = append(out, dep)
		}
	}
	return out, nil
}
