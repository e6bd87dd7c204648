package source

import (
	"bytes"
	"testing"
)

// FuzzSplitSignedCommit: the commit object comes from the repository, which
// an attacker may write. Splitting it never panics, never makes the payload
// larger than the object, leaves an object without signature headers whole,
// and keeps the message (after the first empty line) in the payload as is.
func FuzzSplitSignedCommit(f *testing.F) {
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n -----END SSH SIGNATURE-----\n\nmessage\n"), false)
	f.Add([]byte("tree x\ngpgsig-sha256 sig\n more\n\ngpgsig in the message\n"), true)
	f.Add([]byte("tree x\n\n\n"), false)
	f.Add([]byte(" \n\n"), false)
	f.Fuzz(func(t *testing.T, raw []byte, sha256 bool) {
		payload, sig := splitSignedCommit(raw, sha256)
		if len(payload) > len(raw) || len(sig) > len(raw) {
			t.Fatalf("payload %d and signature %d bytes from an object of %d", len(payload), len(sig), len(raw))
		}
		if !bytes.Contains(raw, []byte("gpgsig")) && (!bytes.Equal(payload, raw) || len(sig) != 0) {
			t.Fatalf("an object without signature headers changed: %q → %q, %q", raw, payload, sig)
		}
		if i := bytes.Index(raw, []byte("\n\n")); i >= 0 && !bytes.HasSuffix(payload, raw[i+1:]) {
			t.Fatalf("the message of %q is not kept whole in %q", raw, payload)
		}
	})
}
