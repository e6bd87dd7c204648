package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds every payload reader arbitrary bodies: each returns a
// push or an error wrapping errPayload, never panics, and a push it
// returns stays within the bounds on refs and URLs.
//
// The seeds are the provider samples in testdata. Run longer with:
// go test -run '^$' -fuzz FuzzParse -fuzztime 1m ./internal/server/webhook
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed payloads in testdata: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for i := range len(parserNames) + 1 {
			f.Add(uint8(i), data)
		}
	}
	f.Add(uint8(0), []byte(`{"ref": "refs/heads/\u0000", "repository": {"clone_url": "ssh://[::1"}}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		n := int(which) % (len(parserNames) + 1)
		if n == len(parserNames) {
			p, err := parseOCI(body)
			if err == nil && (len(p.repositories) == 0 || len(p.repositories) > maxRefs) {
				t.Fatalf("oci: %d repositories", len(p.repositories))
			}
			if err == nil {
				for _, r := range p.repositories {
					_ = repoKey(r)
				}
			}
			return
		}
		p, err := parsers[parserNames[n]](body)
		if err != nil {
			if !errors.Is(err, errPayload) {
				t.Fatalf("%s: error %v does not wrap errPayload", parserNames[n], err)
			}
			return
		}
		if len(p.urls) == 0 || len(p.urls) > maxURLs || len(p.branches)+len(p.tags) == 0 || len(p.branches)+len(p.tags) > maxRefs {
			t.Fatalf("%s: push out of bounds: %d urls, %d branches, %d tags", parserNames[n], len(p.urls), len(p.branches), len(p.tags))
		}
		for k := range gitKeys(p) {
			if k == "" {
				t.Fatal("empty key")
			}
		}
		revisionMoved("~1.0", p)
	})
}
