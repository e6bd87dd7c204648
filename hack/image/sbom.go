package main

import (
	"bufio"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The SPDX 2.3 document, as much of it as an image's SBOM needs.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreation       `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string       `json:"name"`
	SPDXID           string       `json:"SPDXID"`
	VersionInfo      string       `json:"versionInfo,omitempty"`
	DownloadLocation string       `json:"downloadLocation"`
	FilesAnalyzed    bool         `json:"filesAnalyzed"`
	ExternalRefs     []spdxExtRef `json:"externalRefs,omitempty"`
	PrimaryPurpose   string       `json:"primaryPackagePurpose,omitempty"`
	Supplier         string       `json:"supplier,omitempty"`
}

type spdxExtRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func spdxID(parts ...string) string {
	return "SPDXRef-" + spdxIDChars.ReplaceAllString(strings.Join(parts, "-"), "-")
}

// writeSBOM lists the image's contents: flotilla, the Go modules built into
// it (read from the binary itself), and the Debian packages of each
// platform's base.
func writeSBOM(opts buildOptions) error {
	root := spdxID("image")
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              "flotilla-image-" + opts.Version,
		DocumentNamespace: "https://flotilla.dev/spdx/image/" + opts.Version + "/" + opts.Commit,
		CreationInfo:      spdxCreation{Created: opts.Created.Format(time.RFC3339), Creators: []string{"Tool: flotilla-hack-image"}},
		Packages: []spdxPackage{{
			Name: "flotilla", SPDXID: root, VersionInfo: opts.Version, PrimaryPurpose: "CONTAINER",
			DownloadLocation: "https://github.com/flotilla-dev/flotilla", FilesAnalyzed: false,
		}},
		Relationships: []spdxRelationship{{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: root}},
	}
	seen := map[string]bool{}
	add := func(p spdxPackage) {
		if seen[p.SPDXID] {
			return
		}
		seen[p.SPDXID] = true
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelationship{Element: root, Type: "CONTAINS", Related: p.SPDXID})
	}
	for _, p := range opts.Platforms {
		mods, err := goModules(p.Binary)
		if err != nil {
			return err
		}
		for _, m := range mods {
			add(m)
		}
		debs, err := debianPackages(p.Packages)
		if err != nil {
			return err
		}
		for _, d := range debs {
			add(d)
		}
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(opts.Out, "sbom.spdx.json"), append(data, '\n'), 0o644)
}

func goModules(binary string) ([]spdxPackage, error) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", binary, err)
	}
	out := []spdxPackage{goPackage(info.GoVersion, "golang.org/toolchain", strings.TrimPrefix(info.GoVersion, "go"))}
	for _, d := range info.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		out = append(out, goPackage(m.Path, m.Path, m.Version))
	}
	return out, nil
}

func goPackage(name, path, version string) spdxPackage {
	return spdxPackage{
		Name: path, SPDXID: spdxID("go", path, version), VersionInfo: version,
		DownloadLocation: "NOASSERTION", PrimaryPurpose: "LIBRARY",
		ExternalRefs: []spdxExtRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/" + path + "@" + version}},
	}
}

// debianPackages reads the Package, Version, Architecture lines build.sh
// wrote from each .deb.
func debianPackages(file string) ([]spdxPackage, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []spdxPackage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 || fields[0] == "" || strings.ContainsAny(fields[0], ": ") {
			return nil, fmt.Errorf("%s: %q is not a package, a version and an architecture", file, sc.Text())
		}
		name, version, arch := fields[0], fields[1], fields[2]
		out = append(out, spdxPackage{
			Name: name, SPDXID: spdxID("deb", name, version, arch), VersionInfo: version,
			DownloadLocation: "NOASSERTION", Supplier: "Organization: Debian", PrimaryPurpose: "OPERATING-SYSTEM",
			ExternalRefs: []spdxExtRef{{Category: "PACKAGE-MANAGER", Type: "purl",
				Locator: fmt.Sprintf("pkg:deb/debian/%s@%s?arch=%s", name, version, arch)}},
		})
	}
	return out, sc.Err()
}
