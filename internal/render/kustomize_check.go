package render

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
)

// kustomizationNames are the file names that make a folder a kustomization,
// in kustomize's order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func isKustomizationFile(rel string) bool {
	return slices.Contains(kustomizationNames, path.Base(rel))
}

// kustomizationScan is what scanKustomization learnt of a kustomization.
type kustomizationScan struct {
	// usesOpenAPI: it sets an OpenAPI schema (see openAPIGate).
	usesOpenAPI bool
	// deprecated are warnings about the deprecated fields it uses, which
	// kustomize would print to the process's stderr (see quietStderr).
	deprecated []string
	// charts are its helmCharts entries, inflated by this renderer before
	// kustomize runs (see inflateCharts), with its helmGlobals.
	charts  []types.HelmChart
	globals *types.HelmGlobals
}

// scanKustomization refuses what this renderer does not let kustomize do,
// before kustomize acts on it: remote resources and files (kustomize would
// fetch them itself or run git), and Helm charts that kustomize would
// inflate by running the helm binary. A kustomization that does not parse
// is left for kustomize to report.
func scanKustomization(file string, data []byte, b *budget) (kustomizationScan, error) {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return kustomizationScan{}, nil
	}
	var scan kustomizationScan
	for _, msg := range *k.CheckDeprecatedFields() {
		scan.deprecated = append(scan.deprecated, file+": "+strings.TrimPrefix(msg, "# Warning: "))
	}
	k.FixKustomization()
	for _, ref := range kustomizationRefs(&k) {
		if err := checkRef(file, ref); err != nil {
			return kustomizationScan{}, err
		}
	}
	for _, inline := range inlineYAML(&k) {
		if err := checkYAML(file, []byte(inline), b); err != nil {
			return kustomizationScan{}, err
		}
	}
	scan.usesOpenAPI = len(k.OpenAPI) > 0
	scan.charts, scan.globals = k.HelmCharts, k.HelmGlobals
	return scan, nil
}

// checkRef refuses a reference of the kustomization file that is remote or
// that leaves the repository, by its text alone: the answer does not depend
// on what exists there. (kustomizeFS refuses such reads as well; this names
// the kustomization and the reference as written.)
func checkRef(file, ref string) error {
	if isRemoteRef(ref) {
		return newError(ErrRemote, file,
			"refers to %s: remote bases and files are not fetched; vendor them into the repository", redactRef(ref))
	}
	p := filepath.ToSlash(ref)
	if path.IsAbs(p) {
		return newError(ErrOutsideRoot, file, "refers to %s: an absolute path, outside the repository", quoteShort(ref))
	}
	if j := path.Join(path.Dir(file), p); j == ".." || strings.HasPrefix(j, "../") {
		return newError(ErrOutsideRoot, file, "refers to %s, which is outside the repository", quoteShort(ref))
	}
	return nil
}

// kustomizationRefs lists every string of a kustomization that kustomize
// may read as a path, a URL or a repository. Entries holding a newline are
// inline YAML, not references.
func kustomizationRefs(k *types.Kustomization) []string {
	var refs []string
	refs = append(refs, k.Resources...)
	refs = append(refs, k.Components...)
	refs = append(refs, k.Crds...)
	refs = append(refs, k.Configurations...)
	refs = append(refs, k.Generators...)
	refs = append(refs, k.Transformers...)
	refs = append(refs, k.Validators...)
	// The deprecated fields still work in kustomize, so they are scanned.
	for _, p := range k.PatchesStrategicMerge { //nolint:staticcheck // see above
		refs = append(refs, string(p))
	}
	for _, p := range append(slices.Clone(k.Patches), k.PatchesJson6902...) { //nolint:staticcheck // see above
		refs = append(refs, p.Path)
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	refs = append(refs, k.OpenAPI["path"])
	if k.HelmGlobals != nil {
		refs = append(refs, k.HelmGlobals.ChartHome)
	}
	for _, c := range k.HelmCharts {
		refs = append(refs, c.ValuesFile)
		refs = append(refs, c.AdditionalValuesFiles...)
	}
	for _, g := range k.ConfigMapGenerator {
		refs = append(refs, generatorRefs(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		refs = append(refs, generatorRefs(g.KvPairSources)...)
	}
	out := refs[:0]
	for _, r := range refs {
		if r != "" && !strings.Contains(r, "\n") {
			out = append(out, r)
		}
	}
	return out
}

// generatorRefs lists the files of a generator: "key=path" or "path".
func generatorRefs(s types.KvPairSources) []string {
	refs := append(slices.Clone(s.EnvSources), s.EnvSource)
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		refs = append(refs, f)
	}
	return refs
}

// inlineYAML lists the YAML that a kustomization carries inline, which
// kustomize parses as it parses files.
func inlineYAML(k *types.Kustomization) []string {
	var out []string
	for _, p := range append(slices.Clone(k.Patches), k.PatchesJson6902...) { //nolint:staticcheck // deprecated, still honoured
		out = append(out, p.Patch)
	}
	for _, p := range k.PatchesStrategicMerge { //nolint:staticcheck // deprecated, still honoured
		out = append(out, string(p))
	}
	for _, list := range [][]string{k.Generators, k.Transformers, k.Validators} {
		out = append(out, list...)
	}
	return out
}

// checkYAML refuses YAML that kustomize must not be handed: more nodes than
// the render has left, aliases that would expand beyond the render's alias
// budget, nesting deeper than
// Options.MaxDepth, or more documents than Options.MaxObjects (kustomize
// would hold them all before its output could be counted). It measures the parsed document without expanding it,
// counting each anchor's size once. Text that is not YAML passes: kustomize
// reads some files (generator inputs) as plain data.
func checkYAML(file string, data []byte, b *budget) error {
	if err := takeNodes(b, file, data); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil
		}
		m := measurer{memo: map[*yaml.Node]measure{}}
		got, ok := m.measure(&n)
		switch {
		case !ok:
			return docError(ErrMalformed, file, doc, "a YAML alias refers to the value that holds it")
		case got.depth > b.opts.MaxDepth:
			return docError(ErrTooLarge, file, doc, fmt.Sprintf("nested deeper than %d levels", b.opts.MaxDepth))
		case got.expanded-got.raw > b.aliasLeft:
			return docError(ErrTooLarge, file, doc, fmt.Sprintf("YAML aliases expand to more than %d values", b.opts.MaxAliasNodes))
		}
		b.aliasLeft -= got.expanded - got.raw
		if len(n.Content) > 0 && n.Content[0].ShortTag() != "!!null" {
			if b.docs++; b.docs > b.opts.MaxObjects {
				return docError(ErrTooLarge, file, doc, fmt.Sprintf("kustomize would read more than %d YAML documents, the object limit", b.opts.MaxObjects))
			}
		}
	}
}

type measure struct {
	raw      int64 // nodes as written, an alias counting one
	expanded int64 // nodes once every alias is replaced by its target
	depth    int   // nesting once expanded
}

type measurer struct {
	memo map[*yaml.Node]measure
}

// measureCap keeps the sums far from overflowing: any document that
// reaches it is refused anyway.
const measureCap = int64(1) << 50

// measure walks the document in order. YAML defines an anchor before its
// aliases, so an alias finds its target measured already, and the walk's
// recursion stays as deep as the document as written; an alias to a value
// still being measured is a cycle, reported by ok=false.
func (m *measurer) measure(n *yaml.Node) (measure, bool) {
	if got, done := m.memo[n]; done {
		return got, got.raw >= 0
	}
	m.memo[n] = measure{raw: -1} // in progress
	got := measure{raw: 1, expanded: 1}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		target, ok := m.measure(n.Alias)
		if !ok {
			return got, false
		}
		got.expanded, got.depth = target.expanded, target.depth
	}
	for _, c := range n.Content {
		child, ok := m.measure(c)
		if !ok {
			return got, false
		}
		got.raw = min(got.raw+child.raw, measureCap)
		got.expanded = min(got.expanded+child.expanded, measureCap)
		got.depth = max(got.depth, child.depth)
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		got.depth++
	}
	m.memo[n] = got
	return got, true
}
