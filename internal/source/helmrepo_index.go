package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/flotilla-dev/flotilla/internal/yamlsize"
)

// Bounds of a Helm repository index. Real indexes stay far below them: a
// repository of a few hundred charts and tens of thousands of versions
// takes some tens of megabytes.
const (
	// maxIndexBytes bounds the index.yaml read from a server.
	maxIndexBytes = 32 << 20
	// maxIndexCharts bounds the charts an index lists.
	maxIndexCharts = 20_000
	// maxIndexVersions bounds the chart versions of an index, all charts
	// together, counting each version reached through a YAML alias again.
	maxIndexVersions = 200_000
	// maxVersionURLs bounds the download URLs of one chart version.
	maxVersionURLs = 16
	// maxIndexField bounds a chart name, version, URL or digest; longer
	// ones make their version unusable, not the whole index.
	maxIndexField = 2048
	// maxIndexSeparators bounds the YAML structure of an index before it
	// is parsed, counted by yamlsize.Nodes, and the parser keeps about 250
	// bytes per node. A realistic index at maxIndexBytes has 2.7
	// million (and parses into about 500 MB); a dense flow list of one
	// letter values at the same size has 16 million (4 GB, 17 s), refused
	// here at once.
	maxIndexSeparators = 3_000_000
)

// helmIndex is what Flotilla reads of a Helm repository's index.yaml: for
// each chart its versions, with their download URLs and archive digests.
// Everything else of the index (descriptions, maintainers, dependencies) is
// never looked at.
type helmIndex struct {
	// entries maps a chart name to its versions, in the index's order. The
	// slices may be shared between charts (YAML aliases) and are read-only.
	entries map[string][]indexVersion
	// versions counts the versions of all charts.
	versions int
}

// indexVersion is one version of one chart in an index.
type indexVersion struct {
	// Name is the chart's name as the version states it.
	Name    string
	Version string
	// URLs are where the archive can be downloaded, absolute or relative to
	// the repository URL; the first one is used.
	URLs []string
	// Digest is the hex sha256 of the archive; empty when the index does
	// not say.
	Digest string
}

func invalidIndex(format string, args ...any) error {
	return &Error{Type: "helm", Kind: ErrInvalidIndex, Detail: fmt.Sprintf(format, args...)}
}

// parseIndex reads an index.yaml (or its JSON form). It refuses what is not
// an index and what passes the bounds above, and skips versions it cannot
// use (no version, no URL, fields of the wrong type) as Helm does.
//
// The YAML is parsed into nodes, which shares an anchored value between its
// aliases instead of copying it, and only the fields named above are walked.
// Each node is converted once however many aliases reach it, so an alias
// bomb costs as much work as its text, and the versions it would list count
// against maxIndexVersions.
func parseIndex(data []byte) (idx *helmIndex, err error) {
	if len(data) > maxIndexBytes {
		return nil, invalidIndex("index larger than %d bytes", maxIndexBytes)
	}
	if yamlsize.Nodes(data, maxIndexSeparators) > maxIndexSeparators {
		return nil, invalidIndex("index of more than %d YAML nodes", maxIndexSeparators)
	}
	defer func() {
		// The YAML parser reports errors by panicking internally; should a
		// bug let one escape, it is a bad index, not a crashed controller.
		if p := recover(); p != nil {
			idx, err = nil, invalidIndex("cannot be parsed")
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalidIndex("empty")
		}
		return nil, invalidIndex("not YAML: %s", shortText(err.Error()))
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, invalidIndex("not a mapping")
	}
	p := indexParser{idx: &helmIndex{entries: map[string][]indexVersion{}}, seqs: map[*yaml.Node][]indexVersion{}}
	var apiVersion string
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch key, val := deref(root.Content[i]), deref(root.Content[i+1]); key.Value {
		case "apiVersion":
			apiVersion = scalar(val)
		case "entries":
			if err := p.entries(val); err != nil {
				return nil, err
			}
		}
	}
	if apiVersion == "" {
		return nil, invalidIndex("no apiVersion")
	}
	return p.idx, nil
}

// indexParser converts the entries of an index, remembering the version
// lists it converted already.
type indexParser struct {
	idx  *helmIndex
	seqs map[*yaml.Node][]indexVersion
}

func (p *indexParser) entries(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return invalidIndex("entries is not a mapping")
	}
	if len(n.Content)/2 > maxIndexCharts {
		return invalidIndex("more than %d charts", maxIndexCharts)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := scalar(deref(n.Content[i]))
		seq := deref(n.Content[i+1])
		if seq.Kind != yaml.SequenceNode || name == "" || len(name) > maxIndexField {
			continue
		}
		if p.idx.versions += len(seq.Content); p.idx.versions > maxIndexVersions {
			return invalidIndex("more than %d chart versions", maxIndexVersions)
		}
		versions, seen := p.seqs[seq]
		if !seen {
			versions = p.versionList(seq)
			p.seqs[seq] = versions
		}
		// A name given twice keeps its first list; lists are never merged.
		if _, dup := p.idx.entries[name]; !dup {
			p.idx.entries[name] = versions
		}
	}
	return nil
}

// versionList converts the versions of one chart, skipping those that
// cannot be used.
func (p *indexParser) versionList(seq *yaml.Node) []indexVersion {
	out := make([]indexVersion, 0, len(seq.Content))
	for _, item := range seq.Content {
		if v, ok := parseVersion(deref(item)); ok {
			out = append(out, v)
		}
	}
	return out
}

// parseVersion reads one chart version. Work is bounded by the node's own
// size, not by what aliases below it expand to: only scalars and a list of
// scalars are read.
func parseVersion(n *yaml.Node) (indexVersion, bool) {
	var v indexVersion
	if n.Kind != yaml.MappingNode {
		return v, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := deref(n.Content[i]), deref(n.Content[i+1])
		switch key.Value {
		case "name":
			v.Name = scalar(val)
		case "version":
			v.Version = scalar(val)
		case "digest":
			v.Digest = scalar(val)
		case "urls":
			if val.Kind != yaml.SequenceNode {
				return v, false
			}
			for _, u := range val.Content {
				if s := scalar(deref(u)); s != "" && len(v.URLs) < maxVersionURLs {
					v.URLs = append(v.URLs, s)
				}
			}
		}
	}
	for _, f := range []string{v.Name, v.Version, v.Digest} {
		if len(f) > maxIndexField {
			return v, false
		}
	}
	if v.Version == "" || len(v.URLs) == 0 || len(v.URLs[0]) > maxIndexField {
		return v, false
	}
	return v, true
}

// deref follows an alias to its anchored value. YAML anchors sit on values,
// never on aliases, so one step is enough.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// scalar returns a scalar's text, or "" for anything else (null included).
func scalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

// shortText makes a message that may quote what a server sent safe to
// show: short, valid UTF-8, printable.
func shortText(s string) string {
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
