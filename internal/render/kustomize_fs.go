package render

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// mount is where kustomizeFS shows the repository to kustomize. Paths that
// kustomize builds with ".." or from absolute references land outside it
// and are refused, whether they exist or not; paths in kustomize's messages
// are turned back into repository paths (see kustomizeError).
const mount = "/repo"

// errNeedsExclusive stops a kustomize run that meets an OpenAPI schema or a
// deprecated field while running alongside others; the run is then
// repeated alone (see openAPIGate and quietStderr).
var errNeedsExclusive = errors.New("kustomization needs a run of its own")

// errReadOnly answers every attempt of kustomize to write.
var errReadOnly = errors.New("the source is read-only")

// kustomizeFS is the file system kustomize sees: the repository, read-only,
// through tree (so the same symlink rules and size limits apply), with every
// YAML file checked for alias bombs and depth, and every kustomization
// scanned before kustomize acts on it (see scanKustomization).
//
// kustomize sometimes tries a read, ignores the error and goes on: the first
// refusal is kept in violation, and the render fails with it whatever
// kustomize does next.
type kustomizeFS struct {
	ctx context.Context
	t   *tree
	// overrides replaces files by content made in memory (the top
	// kustomization edited by KustomizeOptions), by repository path.
	overrides map[string][]byte
	// exclusive: this run holds openAPIGate alone and may set a schema.
	exclusive      bool
	needsExclusive bool
	violation      error
	// edited holds each kustomization as kustomize was given it, by
	// repository path: its helmCharts inflated once however often it is read.
	edited map[string][]byte
	// warnings are what the kustomizations read call for, in order, once each.
	warnings []string
	// fetched are the charts the caller fetched for helmCharts entries
	// with a repo that the repository does not vendor.
	fetched []FetchedChart
}

// warn records a warning once.
func (k *kustomizeFS) warn(msgs ...string) {
	for _, msg := range msgs {
		if !slices.Contains(k.warnings, msg) {
			k.warnings = append(k.warnings, msg)
		}
	}
}

var _ filesys.FileSystem = (*kustomizeFS)(nil)

// rel maps a path of kustomize's to a repository path.
func (k *kustomizeFS) rel(p string) (string, error) {
	p = filepath.ToSlash(p)
	if !path.IsAbs(p) {
		p = path.Join(mount, p)
	}
	p = path.Clean(p)
	if p == mount {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(p, mount+"/"); ok {
		return rest, nil
	}
	return "", newError(ErrOutsideRoot, "", "a kustomization refers to %s, which is outside the repository", quoteShort(p))
}

// refuse records the first refusal and returns err.
func (k *kustomizeFS) refuse(err error) error {
	if k.violation == nil {
		k.violation = err
	}
	return err
}

// fail passes a tree error to kustomize, recording it when it is a
// refusal. Other errors (a missing file, a folder read as a file) are
// kustomize's to handle: it probes paths that need not be files.
func (k *kustomizeFS) fail(err error) error {
	for _, kind := range []error{ErrOutsideRoot, ErrTooLarge, ErrRemote, ErrUnsupported} {
		if errors.Is(err, kind) {
			return k.refuse(err)
		}
	}
	return err
}

func (k *kustomizeFS) ReadFile(p string) ([]byte, error) {
	if err := k.ctx.Err(); err != nil {
		return nil, k.refuse(err)
	}
	rel, err := k.rel(p)
	if err != nil {
		return nil, k.refuse(err)
	}
	data, ok := k.overrides[rel]
	if !ok {
		if data, err = k.t.readFile(rel); err != nil {
			return nil, k.fail(err)
		}
		if !isKustomizationFile(rel) {
			if data, err = k.t.decrypt(rel, data); err != nil {
				return nil, k.refuse(err)
			}
		}
	}
	if err := checkYAML(rel, data, k.t.b); err != nil {
		return nil, k.refuse(err)
	}
	if !isKustomizationFile(rel) {
		return data, nil
	}
	return k.kustomization(rel, data)
}

// kustomization checks a kustomization file before kustomize reads it,
// and hands kustomize its helmCharts inflated.
func (k *kustomizeFS) kustomization(rel string, data []byte) ([]byte, error) {
	if edited, ok := k.edited[rel]; ok {
		return edited, nil
	}
	scan, err := scanKustomization(rel, data, k.t.b)
	if err != nil {
		return nil, k.refuse(err)
	}
	if (scan.usesOpenAPI || len(scan.deprecated) > 0) && !k.exclusive {
		k.needsExclusive = true
		return nil, k.refuse(errNeedsExclusive)
	}
	k.warn(scan.deprecated...)
	if len(scan.charts) > 0 {
		if data, err = k.inflateCharts(rel, data, scan); err != nil {
			return nil, k.refuse(err)
		}
	}
	if k.edited == nil {
		k.edited = map[string][]byte{}
	}
	k.edited[rel] = data
	return data, nil
}

func (k *kustomizeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	rel, err := k.rel(p)
	if err != nil {
		return "", "", k.refuse(err)
	}
	if _, ok := k.overrides[rel]; ok {
		return filesys.ConfirmedDir(path.Join(mount, path.Dir(rel))), path.Base(rel), nil
	}
	real, fi, err := k.t.resolve(rel)
	if err != nil {
		return "", "", k.fail(err)
	}
	if fi.IsDir() {
		return filesys.ConfirmedDir(path.Join(mount, real)), "", nil
	}
	return filesys.ConfirmedDir(path.Join(mount, path.Dir(real))), path.Base(real), nil
}

func (k *kustomizeFS) Exists(p string) bool {
	rel, err := k.rel(p)
	if err != nil {
		return false
	}
	if _, ok := k.overrides[rel]; ok {
		return true
	}
	_, _, err = k.t.resolve(rel)
	return err == nil
}

func (k *kustomizeFS) IsDir(p string) bool {
	rel, err := k.rel(p)
	if err != nil {
		return false
	}
	_, fi, err := k.t.resolve(rel)
	return err == nil && fi.IsDir()
}

func (k *kustomizeFS) ReadDir(p string) ([]string, error) {
	rel, err := k.rel(p)
	if err != nil {
		return nil, k.refuse(err)
	}
	real, _, err := k.t.resolve(rel)
	if err != nil {
		return nil, k.fail(err)
	}
	entries, err := k.t.readDir(real, orDot(rel))
	if err != nil {
		return nil, k.fail(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Open, Glob and Walk are not used by kustomize builds; refusing them
// keeps every read on the checked path of ReadFile.
func (k *kustomizeFS) Open(string) (filesys.File, error) {
	return nil, newError(ErrUnsupported, "", "kustomize may not open files directly")
}

func (k *kustomizeFS) Glob(string) ([]string, error) {
	return nil, newError(ErrUnsupported, "", "kustomize may not glob files")
}

func (k *kustomizeFS) Walk(string, filepath.WalkFunc) error {
	return newError(ErrUnsupported, "", "kustomize may not walk folders")
}

func (k *kustomizeFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (k *kustomizeFS) Mkdir(string) error                  { return errReadOnly }
func (k *kustomizeFS) MkdirAll(string) error               { return errReadOnly }
func (k *kustomizeFS) RemoveAll(string) error              { return errReadOnly }
func (k *kustomizeFS) WriteFile(string, []byte) error      { return errReadOnly }
