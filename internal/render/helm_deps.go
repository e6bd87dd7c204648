package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/ignore"
	"sigs.k8s.io/yaml"
)

// maxChartDependencies caps the dependencies of one chart that are fetched
// for it: real charts name a handful.
const maxChartDependencies = 32

// ChartDependency is a dependency of a chart's Chart.yaml (or
// requirements.yaml) that charts/ does not hold and that names a Helm
// repository (https://, http://) or an OCI registry (oci://): the caller
// fetches it, as `helm dependency build` would, and hands it back in
// HelmOptions.Dependencies. Rendering itself never fetches anything.
type ChartDependency struct {
	// Name is the chart's name in its repository.
	Name string
	// Repository is the repository's URL as Chart.yaml (or Chart.lock)
	// gives it.
	Repository string
	// Version is the exact version of Chart.lock when the chart has one,
	// else Chart.yaml's version or semver range.
	Version string
	// Locked is true when Version comes from Chart.lock.
	Locked bool
}

// FetchedChart is a dependency the caller fetched for a render: Dir holds
// the unpacked chart (its Chart.yaml). Digest names its content and keys
// the render cache with Name, Repository and Version; Dir does not, so
// that renders of the same content share one result wherever it lies.
type FetchedChart struct {
	Name, Repository, Version, Digest string
	Dir                               string `json:"-"`
}

// ChartDependencies lists the dependencies the chart at req.Path needs
// fetched before it can be rendered: those of its Chart.yaml that charts/
// does not hold (vendored charts win) and that do not name a folder of the
// repository (file://, which Render reads itself). A path that is not a
// chart has none; a kustomization has the charts of its helmCharts entries
// (and those of the local kustomizations it reads) that name a Helm
// repository or an OCI registry and that are not vendored under their
// chartHome. With a Chart.lock, its digest must match Chart.yaml's
// dependencies, as `helm dependency build` requires, and its versions are
// the ones listed. A dependency whose repository is not a URL Flotilla can
// fetch from (a repository name of Helm's local configuration, "@stable")
// is refused naming it (ErrRemote). Reading is bounded as Render's is.
//
// With a Revision, the answer is kept (a small table, emptied when full) and
// given again for the same revision and path without a read: a chart with
// dependencies is not read whole twice at every sync.
func (r *Renderer) ChartDependencies(ctx context.Context, req Request) ([]ChartDependency, error) {
	rel, err := cleanRequestPath(req.Path)
	if err != nil {
		return nil, err
	}
	key := req.Revision + "\x00" + rel
	if req.Revision != "" {
		if deps, ok := r.deps.get(key); ok {
			return deps, nil
		}
	}
	deps, err := r.chartDependencies(ctx, req.Root, rel)
	if err == nil && req.Revision != "" {
		r.deps.put(key, deps)
	}
	return slices.Clone(deps), err
}

func (r *Renderer) chartDependencies(ctx context.Context, root, rel string) ([]ChartDependency, error) {
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t, err := openTree(root, newBudget(r.opts))
	if err != nil {
		return nil, err
	}
	defer t.close()
	real, fi, err := t.resolve(rel)
	if err != nil {
		return nil, err
	}
	kind, err := detectKind(t, real, fi)
	if err != nil {
		return nil, err
	}
	if kind == KindKustomize {
		return kustomizeCharts(ctx, t, real)
	}
	if kind != KindHelm {
		return nil, nil
	}
	if declared, err := declaresDependencies(t, real, rel); err != nil || !declared {
		return nil, err
	}
	chrt, err := loadChart(ctx, t, real, rel)
	if err != nil {
		return nil, err
	}
	return toFetch(chrt, rel)
}

// declaresDependencies reads Chart.yaml and requirements.yaml alone, so
// that a chart without dependencies is not read whole twice per sync.
func declaresDependencies(t *tree, dir, shown string) (bool, error) {
	for _, name := range []string{chartFile, "requirements.yaml"} {
		ok, err := hasFile(t, path.Join(dir, name))
		if err != nil || !ok {
			if err != nil {
				return false, err
			}
			continue
		}
		data, err := t.readFile(path.Join(dir, name))
		if err != nil {
			return false, relabel(err, path.Join(dir, name), path.Join(shown, name))
		}
		var deps struct {
			Dependencies []json.RawMessage `json:"dependencies"`
		}
		if err := checkYAML(path.Join(shown, name), data, t.b); err != nil {
			return false, err
		}
		if err := yaml.Unmarshal(data, &deps); err == nil && len(deps.Dependencies) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// toFetch picks the dependencies of chrt that need fetching.
func toFetch(chrt *chart.Chart, shown string) ([]ChartDependency, error) {
	file := path.Join(shown, chartFile)
	if chrt.Metadata == nil {
		return nil, nil
	}
	vendored := map[string]bool{}
	for _, sub := range chrt.Dependencies() {
		vendored[sub.Name()] = true
	}
	var out []ChartDependency
	missing := false // a dependency that charts/ does not hold
	for _, d := range chrt.Metadata.Dependencies {
		if d == nil || vendored[d.Name] || d.Repository == "" {
			continue // checked at render: missing ones are refused there
		}
		missing = true
		if strings.HasPrefix(d.Repository, "file://") {
			continue // read by Render from the repository
		}
		if !fetchable(d.Repository) {
			return nil, newError(ErrRemote, file,
				"dependency %s names repository %s, not a URL: name it by its https:// or oci:// URL, or vendor it in charts/",
				quoteShort(d.Name), redactRef(d.Repository))
		}
		out = append(out, ChartDependency{Name: d.Name, Repository: d.Repository, Version: d.Version})
	}
	if len(out) > maxChartDependencies {
		return nil, newError(ErrTooLarge, file, "%d dependencies to fetch, more than %d", len(out), maxChartDependencies)
	}
	// A lock is checked only when something is read in place of charts/:
	// a chart whose dependencies are all vendored renders as before.
	if chrt.Lock == nil || !missing {
		return out, nil
	}
	return locked(chrt, shown, out)
}

// fetchable reports whether a dependency's repository is a URL a chart can
// be fetched from.
func fetchable(repo string) bool {
	for _, scheme := range []string{"https://", "http://", "oci://"} {
		if len(repo) > len(scheme) && strings.EqualFold(repo[:len(scheme)], scheme) {
			return true
		}
	}
	return false
}

// locked checks the chart's lock file against its dependencies, as `helm
// dependency build` does, and takes each dependency's version from it.
func locked(chrt *chart.Chart, shown string, deps []ChartDependency) ([]ChartDependency, error) {
	lockName := "Chart.lock"
	if chrt.Metadata.APIVersion == chart.APIVersionV1 {
		lockName = "requirements.lock"
	}
	file := path.Join(shown, lockName)
	want, err := lockDigest(chrt.Metadata.Dependencies, chrt.Lock.Dependencies)
	if err != nil {
		return nil, newError(ErrMalformed, file, "cannot be checked: %v", err)
	}
	if want != chrt.Lock.Digest && !legacyLockMatches(chrt) {
		return nil, newError(ErrMalformed, file,
			"is out of sync with the dependencies of %s (it records digest %s, they hash to %s): run `helm dependency update` and commit %s",
			chartFile, quoteShort(chrt.Lock.Digest), want, lockName)
	}
	for i, d := range deps {
		l := lockEntry(chrt.Lock, d.Name, d.Repository)
		if l == nil {
			return nil, newError(ErrMalformed, file, "lists no dependency %s from %s: run `helm dependency update` and commit %s",
				quoteShort(d.Name), redactRef(d.Repository), lockName)
		}
		deps[i].Version, deps[i].Locked = l.Version, true
	}
	return deps, nil
}

func lockEntry(lock *chart.Lock, name, repo string) *chart.Dependency {
	for _, l := range lock.Dependencies {
		if l != nil && l.Name == name && strings.TrimSuffix(l.Repository, "/") == strings.TrimSuffix(repo, "/") {
			return l
		}
	}
	return nil
}

// lockDigest is the digest Helm records in a lock file: the sha256 of the
// JSON of the declared dependencies and the locked ones, side by side.
func lockDigest(declared, lockedDeps []*chart.Dependency) (string, error) {
	data, err := json.Marshal([2][]*chart.Dependency{declared, lockedDeps})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// legacyLockMatches accepts a requirements.lock written by Helm 2, whose
// digest hashes the declared dependencies alone, in an object.
func legacyLockMatches(chrt *chart.Chart) bool {
	if chrt.Metadata.APIVersion != chart.APIVersionV1 {
		return false
	}
	data, err := json.Marshal(map[string][]*chart.Dependency{"dependencies": chrt.Metadata.Dependencies})
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return chrt.Lock.Digest == "sha256:"+hex.EncodeToString(sum[:])
}

// attachDependencies adds to chrt (the chart in the folder dir, shown as
// shown) the dependencies `helm dependency build` would put in its charts/
// folder and that it does not hold already: those of a folder of the
// repository (file://), read through the same confined access as the
// chart, and those the caller fetched. Vendored charts win.
func attachDependencies(ctx context.Context, t *tree, chrt *chart.Chart, dir, shown string, fetched []FetchedChart) error {
	if chrt.Metadata == nil {
		return nil
	}
	have := map[string]bool{}
	for _, sub := range chrt.Dependencies() {
		have[sub.Name()] = true
	}
	for _, d := range chrt.Metadata.Dependencies {
		if d == nil || have[d.Name] {
			continue
		}
		var sub *chart.Chart
		var err error
		switch {
		case strings.HasPrefix(d.Repository, "file://"):
			sub, err = localDependency(ctx, t, d, dir, shown)
		case d.Repository != "":
			sub, err = fetchedDependency(ctx, t, d, shown, fetched)
		}
		if err != nil {
			return err
		}
		if sub == nil {
			continue // refused by checkDependencies, naming it
		}
		chrt.AddDependency(sub)
		have[d.Name] = true
	}
	return nil
}

// localDependency loads the chart a file:// dependency names: a folder of
// the repository, relative to the chart's folder. It may not leave the
// repository, and its .helmignore applies, as when Helm packages it.
func localDependency(ctx context.Context, t *tree, d *chart.Dependency, dir, shown string) (*chart.Chart, error) {
	file := path.Join(shown, chartFile)
	ref := strings.TrimPrefix(d.Repository, "file://")
	field := fmt.Sprintf("dependency %s at %s", quoteShort(d.Name), quoteShort(d.Repository))
	if path.IsAbs(ref) {
		return nil, newError(ErrOutsideRoot, file, "%s leaves the repository: give a path relative to the chart's folder", field)
	}
	if why := badPathReason(ref); why != "" && why != "leaves the repository root" {
		return nil, newError(ErrInvalidPath, file, "%s: the path %s", field, why)
	}
	rel := path.Join(dir, ref)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, newError(ErrOutsideRoot, file, "%s leaves the repository", field)
	}
	real, fi, err := t.resolve(rel)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, newError(ErrNotFound, file, "%s is not a folder of the repository", field)
	}
	rules, err := helmIgnoreRules(t, real)
	if err != nil {
		return nil, err
	}
	sub, err := loadChartWith(ctx, t, rules, real, path.Join(shown, ref))
	if err != nil {
		return nil, err
	}
	if sub.Name() != d.Name {
		return nil, newError(ErrMalformed, file, "%s holds chart %s", field, quoteShort(sub.Name()))
	}
	return sub, nil
}

// fetchedDependency loads the fetched chart of d, if the caller fetched
// one; it is read as Helm reads a chart archive, without ignore rules,
// charged to the same render limits. Its folder is named after its
// repository and version in errors, not after a machine path.
func fetchedDependency(ctx context.Context, t *tree, d *chart.Dependency, shown string, fetched []FetchedChart) (*chart.Chart, error) {
	var fc *FetchedChart
	for i := range fetched {
		if fetched[i].Name == d.Name && strings.TrimSuffix(fetched[i].Repository, "/") == strings.TrimSuffix(d.Repository, "/") {
			fc = &fetched[i]
			break
		}
	}
	if fc == nil {
		return nil, nil
	}
	ft, err := openTree(fc.Dir, t.b)
	if err != nil {
		return nil, err
	}
	defer ft.close()
	label := path.Join(shown, "charts", d.Name+"-"+fc.Version+".tgz")
	if !chartNamePattern.MatchString(d.Name) {
		return nil, newError(ErrMalformed, path.Join(shown, chartFile), "dependency name %s is not a plain name", quoteShort(d.Name))
	}
	sub, err := loadChartWith(ctx, ft, ignore.Empty(), d.Name, label)
	if err != nil {
		return nil, err
	}
	if sub.Name() != d.Name {
		return nil, newError(ErrMalformed, label, "holds chart %s, not %s", quoteShort(sub.Name()), quoteShort(d.Name))
	}
	return sub, nil
}

// maxDependencyLists bounds the dependency lists a Renderer keeps.
const maxDependencyLists = 1024

// dependencyLists keeps the answers of ChartDependencies by revision and
// path. They are small; when the table is full it is emptied.
type dependencyLists struct {
	mu    sync.Mutex
	lists map[string][]ChartDependency
}

func (d *dependencyLists) get(key string) ([]ChartDependency, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	deps, ok := d.lists[key]
	return slices.Clone(deps), ok
}

func (d *dependencyLists) put(key string, deps []ChartDependency) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lists == nil || len(d.lists) >= maxDependencyLists {
		d.lists = map[string][]ChartDependency{}
	}
	d.lists[key] = slices.Clone(deps)
}
