package source

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Commit SHAs for the listing below.
var (
	shaMain    = strings.Repeat("a", 40)
	shaDev     = strings.Repeat("b", 40)
	shaV1      = strings.Repeat("c", 40)
	shaV12     = strings.Repeat("d", 40)
	shaV13     = strings.Repeat("e", 40)
	shaV2      = strings.Repeat("f", 40)
	shaRC      = strings.Repeat("1", 40)
	shaTagObj  = strings.Repeat("2", 40)
	shaDupe    = strings.Repeat("3", 40)
	shaTagName = strings.Repeat("4", 40)
)

// listing is what git ls-remote --symref prints, in a shuffled order, with
// an annotated tag (v1.3.0, peeled on its ^{} line) and a tag and a branch
// of the same name.
var listing = "ref: refs/heads/main\tHEAD\n" +
	shaMain + "\tHEAD\n" +
	shaMain + "\trefs/heads/main\n" +
	shaDev + "\trefs/heads/dev\n" +
	shaDev + "\trefs/heads/same\n" +
	shaTagName + "\trefs/tags/same\n" +
	shaV13 + "\trefs/tags/v1.3.0^{}\n" +
	shaTagObj + "\trefs/tags/v1.3.0\n" +
	shaV1 + "\trefs/tags/v1.0.0\n" +
	shaV12 + "\trefs/tags/v1.2.0\n" +
	shaDupe + "\trefs/tags/1.2.0\n" +
	shaV2 + "\trefs/tags/v2.0.0\n" +
	shaRC + "\trefs/tags/v2.1.0-rc.1\n" +
	shaMain + "\trefs/pull/1/head\n" +
	"garbage line\n" +
	"zz\trefs/heads/bad-sha\n"

func TestFind(t *testing.T) {
	refs := parseRefs([]byte(listing))
	tests := []struct {
		rev  string
		want Revision
	}{
		{"", Revision{Ref: "refs/heads/main", Commit: shaMain}},
		{"HEAD", Revision{Ref: "refs/heads/main", Commit: shaMain}},
		{"main", Revision{Ref: "refs/heads/main", Commit: shaMain}},
		{"dev", Revision{Ref: "refs/heads/dev", Commit: shaDev}},
		{"refs/heads/same", Revision{Ref: "refs/heads/same", Commit: shaDev}},
		{"same", Revision{Ref: "refs/tags/same", Commit: shaTagName}}, // a tag wins, as in git
		{"v1.0.0", Revision{Ref: "refs/tags/v1.0.0", Commit: shaV1}},
		{"v1.3.0", Revision{Ref: "refs/tags/v1.3.0", Commit: shaV13}}, // peeled
		{"refs/tags/v1.3.0", Revision{Ref: "refs/tags/v1.3.0", Commit: shaV13}},
		{">=1.0.0 <2.0.0", Revision{Ref: "refs/tags/v1.3.0", Commit: shaV13}},
		{"~1.2", Revision{Ref: "refs/tags/1.2.0", Commit: shaDupe}}, // equal versions: first by name
		{"^1", Revision{Ref: "refs/tags/v1.3.0", Commit: shaV13}},
		{"1.0.0", Revision{Ref: "refs/tags/v1.0.0", Commit: shaV1}},
		{"*", Revision{Ref: "refs/tags/v2.0.0", Commit: shaV2}}, // no pre-releases
		{">=2.1.0-0", Revision{Ref: "refs/tags/v2.1.0-rc.1", Commit: shaRC}},
		{"refs/pull/1/head", Revision{Ref: "refs/pull/1/head", Commit: shaMain}},
		{strings.Repeat("9", 40), Revision{Commit: strings.Repeat("9", 40)}},
		{strings.Repeat("A", 40), Revision{Commit: strings.Repeat("a", 40)}},
		{strings.Repeat("9", 64), Revision{Commit: strings.Repeat("9", 64)}},
	}
	for _, tt := range tests {
		got, err := refs.find(tt.rev)
		if err != nil {
			t.Errorf("find(%q): %v", tt.rev, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("find(%q) (-want +got):\n%s", tt.rev, diff)
		}
	}
}

func TestFindFails(t *testing.T) {
	refs := parseRefs([]byte(listing))
	tests := []struct {
		listing, rev string
		want         error
		detail       string
	}{
		{listing, "gone", ErrRevisionNotFound, "no branch or tag of that name"},
		{listing, "refs/heads/gone", ErrRevisionNotFound, "no such ref"},
		{listing, ">=3.0.0", ErrRevisionNotFound, "no tag in that semver range"},
		{listing, ">= 1.0 <<2", ErrInvalidRevision, "semver range"},
		{listing, "abc1234", ErrRevisionNotFound, "abbreviated"},
		{listing, "bad-sha", ErrRevisionNotFound, "no branch or tag"},
		{"", "", ErrRevisionNotFound, "no branches"},
		{shaMain + "\trefs/heads/x\n", "", ErrRevisionNotFound, "no default branch"},
	}
	for _, tt := range tests {
		l := refs
		if tt.listing != listing {
			l = parseRefs([]byte(tt.listing))
		}
		_, err := l.find(tt.rev)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.detail) {
			t.Errorf("find(%q) = %v, want %v saying %q", tt.rev, err, tt.want, tt.detail)
		}
	}
}

func TestCheckRevision(t *testing.T) {
	for _, rev := range []string{"", "main", ">=1.0.0 <2.0.0", "feature/ünïcode", strings.Repeat("x", 255)} {
		if err := checkRevision(rev); err != nil {
			t.Errorf("checkRevision(%q) = %v, want nil", rev, err)
		}
	}
	for _, rev := range []string{"main\n", "a\x00b", "\x1b[31m", strings.Repeat("x", 256), "bad\xff"} {
		if err := checkRevision(rev); !errors.Is(err, ErrInvalidRevision) {
			t.Errorf("checkRevision(%q) = %v, want ErrInvalidRevision", rev, err)
		}
	}
}
