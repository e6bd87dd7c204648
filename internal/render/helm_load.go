package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"
)

const (
	// maxChartFiles caps the files of one chart, its vendored subcharts
	// and their archives' entries included: a million empty files would
	// pass every byte limit. Real charts hold a few hundred.
	maxChartFiles = 10000
	// maxArchiveDepth caps subchart archives inside subchart archives.
	maxArchiveDepth = 5
	// helmIgnoreFile lists files the chart leaves out, as .gitignore does.
	helmIgnoreFile = ".helmignore"
)

// helmYAMLFiles are the chart files Helm parses as YAML itself: each is
// checked first for alias bombs and depth, as kustomize's inputs are.
var helmYAMLFiles = map[string]bool{
	"Chart.yaml": true, "values.yaml": true, "requirements.yaml": true,
	"Chart.lock": true, "requirements.lock": true,
}

// chartNamePattern is a chart name: no path parts, nothing to escape.
var chartNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// loadChart reads the chart in the folder dir (shown as shown) through the
// tree, so that the rules of every other read apply: symbolic links are
// followed only inside the repository, each file and the render are within
// the byte limits, special files are never opened. Helm's loader then sees
// these files and nothing else: `.Files` in a template is the chart's own.
// Subcharts come from charts/ only (folders or archives).
func loadChart(ctx context.Context, t *tree, dir, shown string) (*chart.Chart, error) {
	rules, err := helmIgnoreRules(t, dir)
	if err != nil {
		return nil, err
	}
	return loadChartWith(ctx, t, rules, dir, shown)
}

// loadChartWith loads the chart in the folder dir of t, leaving out what
// rules ignore.
func loadChartWith(ctx context.Context, t *tree, rules *ignore.Rules, dir, shown string) (*chart.Chart, error) {
	w := chartWalker{ctx: ctx, t: t, rules: rules, base: shown, visited: map[string]bool{}}
	if err := w.walk(dir, ""); err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(w.files)
	if err != nil {
		return nil, newError(ErrMalformed, orDot(shown), "is not a valid Helm chart: %s", helmErrorText(err))
	}
	return c, nil
}

// helmIgnoreRules reads the chart's .helmignore, with Helm's defaults.
func helmIgnoreRules(t *tree, dir string) (*ignore.Rules, error) {
	rules := ignore.Empty()
	rel := path.Join(dir, helmIgnoreFile)
	ok, err := hasFile(t, rel)
	if err != nil {
		return nil, err
	}
	if ok {
		data, err := t.readFile(rel)
		if err != nil {
			return nil, err
		}
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, newError(ErrMalformed, rel, "cannot be parsed: %s", helmErrorText(err))
		}
	}
	rules.AddDefaults()
	return rules, nil
}

type chartWalker struct {
	ctx     context.Context
	t       *tree
	rules   *ignore.Rules
	base    string // the chart folder as the request named it
	visited map[string]bool
	files   []*loader.BufferedFile
	entries int // files and archive entries seen
}

// walk lists the folder real (a path without links), name being its path
// in the chart ("" for the chart's folder).
func (w *chartWalker) walk(real, name string) error {
	if w.visited[real] {
		return nil
	}
	w.visited[real] = true
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := w.t.readDir(real, orDot(path.Join(w.base, name)))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.entry(e, path.Join(real, e.Name()), path.Join(name, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (w *chartWalker) entry(e fs.DirEntry, real, name string) error {
	shown := path.Join(w.base, name)
	fi, err := e.Info()
	if err != nil {
		return statError(shown, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// Resolved before the ignore rules are asked: a link out of the
		// repository is refused even when .helmignore lists it.
		if real, fi, err = w.t.resolve(real); err != nil {
			return err
		}
	}
	if w.rules.Ignore(name, fi) {
		return nil
	}
	switch {
	case fi.IsDir():
		return w.walk(real, name)
	case !fi.Mode().IsRegular():
		return nil // never opened: a pipe would block the render
	}
	if w.entries++; w.entries > maxChartFiles {
		return newError(ErrTooLarge, orDot(w.base), "the chart holds more than %d files", maxChartFiles)
	}
	data, err := w.t.readFile(real)
	if err != nil {
		return relabel(err, real, shown)
	}
	if err := w.check(shown, name, data); err != nil {
		return err
	}
	w.files = append(w.files, &loader.BufferedFile{Name: name, Data: data})
	return nil
}

// check looks into a chart file before Helm parses it.
func (w *chartWalker) check(shown, name string, data []byte) error {
	if helmYAMLFiles[path.Base(name)] {
		return checkYAML(shown, data, w.t.b)
	}
	if isArchive(name) {
		return w.scanArchive(shown, data, 1)
	}
	return nil
}

func isArchive(name string) bool {
	return strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.gz")
}

// scanArchive reads a subchart archive once before Helm's loader unpacks it
// in memory: every entry is charged to the render's byte and file limits
// (so that an expansion bomb stops at the limit), YAML that Helm will parse
// is checked, and archives inside are scanned in turn. Nothing is written
// to disk.
func (w *chartWalker) scanArchive(shown string, data []byte, depth int) error {
	if depth > maxArchiveDepth {
		return newError(ErrTooLarge, shown, "holds chart archives nested more than %d deep", maxArchiveDepth)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return newError(ErrMalformed, shown, "is not a gzip archive: %v", err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return newError(ErrMalformed, shown, "is not a valid chart archive: %v", err)
		}
		if w.entries++; w.entries > maxChartFiles {
			return newError(ErrTooLarge, shown, "the chart and its archives hold more than %d files", maxChartFiles)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue // Helm's loader keeps regular files only
		}
		if err := w.t.b.takeBytes(shown, hdr.Size); err != nil {
			return err
		}
		if !helmYAMLFiles[path.Base(hdr.Name)] && !isArchive(hdr.Name) {
			continue
		}
		entry, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
		if err != nil {
			return newError(ErrMalformed, shown, "is not a valid chart archive: %v", err)
		}
		inner := shown + ": " + quoteShort(hdr.Name)
		if isArchive(hdr.Name) {
			err = w.scanArchive(inner, entry, depth+1)
		} else {
			err = checkYAML(inner, entry, w.t.b)
		}
		if err != nil {
			return err
		}
	}
}

// relabel names a file by its path in the request rather than its resolved
// path, when an error names the latter.
func relabel(err error, real, shown string) error {
	var e *Error
	if errors.As(err, &e) && e.File == real && real != shown {
		c := *e
		c.File = shown
		return &c
	}
	return err
}

// checkChart refuses what Helm would otherwise do or trust: a chart or
// subchart name with path parts, a dependency that is neither vendored in
// charts/ nor fetched by the caller (rendering itself fetches nothing),
// and a values schema that refers to anything but itself (the
// schema library would fetch a URL or read a file).
func checkChart(c *chart.Chart, shown string, b *budget) error {
	return walkCharts(c, "", func(c *chart.Chart, dir string) error {
		file := path.Join(shown, dir, chartFile)
		name := c.Name()
		if !chartNamePattern.MatchString(name) || name == "." || name == ".." {
			return newError(ErrMalformed, file, "chart name %s is not a plain name", quoteShort(name))
		}
		if err := checkDependencies(c, file); err != nil {
			return err
		}
		if len(c.Schema) > 0 {
			return checkSchema(path.Join(shown, dir, "values.schema.json"), c.Schema, b)
		}
		return nil
	})
}

// walkCharts calls fn for c and each of its subcharts, with the chart's
// folder relative to the top chart.
func walkCharts(c *chart.Chart, dir string, fn func(*chart.Chart, string) error) error {
	if err := fn(c, dir); err != nil {
		return err
	}
	for _, sub := range c.Dependencies() {
		if err := walkCharts(sub, path.Join(dir, "charts", sub.Name()), fn); err != nil {
			return err
		}
	}
	return nil
}

// checkDependencies refuses a dependency of Chart.yaml (or requirements.yaml)
// that the chart does not hold (vendored in charts/, read from the
// repository or fetched), naming it and its repository.
func checkDependencies(c *chart.Chart, file string) error {
	if c.Metadata == nil {
		return nil
	}
	vendored := map[string]bool{}
	for _, sub := range c.Dependencies() {
		vendored[sub.Name()] = true
	}
	for _, d := range c.Metadata.Dependencies {
		if d == nil || vendored[d.Name] {
			continue
		}
		if d.Repository != "" && !strings.HasPrefix(d.Repository, "file://") {
			return newError(ErrRemote, file,
				"dependency %s from %s is neither in charts/ nor fetched for this render",
				quoteShort(d.Name), redactRef(d.Repository))
		}
		if d.Repository != "" {
			return newError(ErrNotFound, file, "dependency %s at %s is not in charts/ and was not read", quoteShort(d.Name), quoteShort(d.Repository))
		}
		return newError(ErrNotFound, file,
			"dependency %s names no repository and is not in charts/; vendor it there or name its repository", quoteShort(d.Name))
	}
	return nil
}

// schemaRefKeys are the JSON schema keywords that load another document.
var schemaRefKeys = map[string]bool{"$ref": true, "$dynamicRef": true, "$recursiveRef": true}

// checkSchema refuses a values schema that refers to another document: the
// schema library Helm uses would fetch an http(s) URL or read a local file
// (its content could end up in an error message). References inside the
// schema ("#/definitions/…") are fine, and so is a $schema naming one of
// the JSON schema drafts, which the library knows without fetching.
func checkSchema(file string, data []byte, b *budget) error {
	var bad string
	err := decodeManifests(data, file, true, b, func(_ int, m map[string]any) error {
		bad = schemaReference(m)
		return nil
	})
	if err != nil {
		return err
	}
	if bad != "" {
		return newError(ErrRemote, file, "refers to %s; a chart's values schema may only refer to itself (\"#…\")", redactRef(bad))
	}
	return nil
}

// schemaReference returns the first reference to another document in v.
func schemaReference(v any) string {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			item := t[k]
			s, isString := item.(string)
			switch {
			case isString && schemaRefKeys[k] && !strings.HasPrefix(s, "#"):
				return s
			case isString && k == "$schema" && !knownDraft(s):
				return s
			}
			if bad := schemaReference(item); bad != "" {
				return bad
			}
		}
	case []any:
		for _, item := range t {
			if bad := schemaReference(item); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// knownDrafts are the meta-schemas the schema library holds built in.
var knownDrafts = map[string]bool{
	"http://json-schema.org/schema":                true,
	"http://json-schema.org/draft-04/schema":       true,
	"http://json-schema.org/draft-06/schema":       true,
	"http://json-schema.org/draft-07/schema":       true,
	"https://json-schema.org/draft/2019-09/schema": true,
	"https://json-schema.org/draft/2020-12/schema": true,
}

func knownDraft(s string) bool {
	return knownDrafts[strings.TrimSuffix(s, "#")]
}

// helmErrorText is a Helm error for a message.
func helmErrorText(err error) string {
	return fmt.Sprint(err)
}
