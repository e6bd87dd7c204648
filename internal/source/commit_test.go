package source

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommit(t *testing.T) {
	long := strings.Repeat("é", 200)
	tests := []struct {
		name string
		raw  string
		want CommitInfo
	}{
		{"plain", "tree 1\nparent 2\nauthor Ann Lee <ann@example.com> 1700000000 +0100\ncommitter C <c@x> 1 +0000\n\nFix the web Service\n\nBody.\n",
			CommitInfo{Author: "Ann Lee <ann@example.com>", Message: "Fix the web Service"}},
		{"message after blank lines and spaces", "author A <a@x> 1 +0000\n\n\n   \n  Subject  \nmore\n",
			CommitInfo{Author: "A <a@x>", Message: "Subject"}},
		{"control characters", "author A\x1b[31m <a@x> 1 +0000\n\nred\x1b[0m\ttab\r\n",
			CommitInfo{Author: "A [31m <a@x>", Message: "red [0m tab"}},
		{"signed, the signature is not the message", "tree 1\nauthor A <a@x> 1 +0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n -----END SSH SIGNATURE-----\n\nSigned change\n",
			CommitInfo{Author: "A <a@x>", Message: "Signed change"}},
		{"long message cut at a character", "author A <a@x> 1 +0000\n\n" + long + "\n",
			CommitInfo{Author: "A <a@x>", Message: strings.Repeat("é", 126) + "…"}},
		{"no message, no author", "tree 1\n", CommitInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseCommit([]byte(tt.raw))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseCommit (-want +got):\n%s", diff)
			}
			if len(got.Message) > MaxCommitMessage || len(got.Author) > MaxCommitAuthor {
				t.Errorf("unbounded: %d, %d bytes", len(got.Message), len(got.Author))
			}
		})
	}
}
