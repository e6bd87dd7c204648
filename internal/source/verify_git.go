package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// sshNamespace is the namespace git signs commits in (ssh-keygen -Y sign
// -n git); a signature made for another purpose does not sign a commit.
const sshNamespace = "git"

// The armor headers that tell the kinds of signature apart.
const (
	sshSignatureHeader = "-----BEGIN SSH SIGNATURE-----"
	pgpSignatureHeader = "-----BEGIN PGP SIGNATURE-----"
)

// trustedKeys are the keys of a git Verification, read.
type trustedKeys struct {
	provider string
	ssh      []ssh.PublicKey
	pgp      openpgp.EntityList
}

// readTrustedKeys reads the keys of an ssh or gpg Verification. Its errors
// name a key by its place in the list, never by its content.
func readTrustedKeys(v *Verification) (*trustedKeys, error) {
	t := &trustedKeys{provider: v.Provider}
	switch v.Provider {
	case VerifySSH, VerifyGPG:
	case VerifyCosign:
		return nil, providerMismatch("cosign verifies OCI sources; use ssh or gpg for git")
	default:
		return nil, providerMismatch(fmt.Sprintf("unknown provider %q; use ssh or gpg for git", v.Provider))
	}
	if len(v.Keys) == 0 {
		return nil, unverified("no trusted keys given")
	}
	for i, k := range v.Keys {
		var err error
		if v.Provider == VerifySSH {
			err = t.addSSH(k)
		} else {
			err = t.addPGP(k)
		}
		if err != nil {
			return nil, unverified(fmt.Sprintf("key %d cannot be read", i+1))
		}
	}
	return t, nil
}

// addSSH adds the keys of authorized_keys lines; blank lines and comments
// are skipped, and an entry must hold at least one key.
func (t *trustedKeys) addSSH(entry []byte) error {
	n := 0
	for line := range bytes.Lines(entry) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			return err
		}
		t.ssh = append(t.ssh, key)
		n++
	}
	if n == 0 {
		return errors.New("no key")
	}
	return nil
}

// addPGP adds the OpenPGP public keys of an entry, armored or binary.
func (t *trustedKeys) addPGP(entry []byte) error {
	read := openpgp.ReadKeyRing
	if bytes.Contains(entry, []byte("-----BEGIN PGP")) {
		read = openpgp.ReadArmoredKeyRing
	}
	keys, err := read(bytes.NewReader(entry))
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("no key")
	}
	t.pgp = append(t.pgp, keys...)
	return nil
}

// verifyCachedCommit verifies the commit object kept in a cache entry.
func verifyCachedCommit(entryDir, commit string, t *trustedKeys) error {
	raw, err := os.ReadFile(filepath.Join(entryDir, checkoutCommit))
	if err != nil {
		return &Error{Kind: ErrGit, Detail: "cannot read the kept commit object", cause: err}
	}
	return verifyCommit(raw, commit, t)
}

// verifyCommit checks that the raw commit object carries a valid signature
// by one of the trusted keys.
func verifyCommit(raw []byte, commit string, t *trustedKeys) error {
	short := commit[:min(len(commit), 12)]
	payload, sig := splitSignedCommit(raw, len(commit) == 64)
	if len(sig) == 0 {
		return unverified(fmt.Sprintf("commit %s is not signed", short))
	}
	kind := ""
	switch {
	case bytes.HasPrefix(sig, []byte(sshSignatureHeader)):
		kind = VerifySSH
	case bytes.HasPrefix(sig, []byte(pgpSignatureHeader)):
		kind = VerifyGPG
	}
	if kind != t.provider {
		return unverified(fmt.Sprintf("commit %s is not signed with %s (it carries %s)", short, t.provider, describeSignature(kind)))
	}
	var err error
	if kind == VerifySSH {
		err = t.verifySSH(payload, sig)
	} else {
		err = t.verifyPGP(payload, sig)
	}
	if err != nil {
		return unverified(fmt.Sprintf("commit %s %s", short, err))
	}
	return nil
}

func describeSignature(kind string) string {
	switch kind {
	case VerifySSH:
		return "an SSH signature"
	case VerifyGPG:
		return "an OpenPGP signature"
	default:
		return "a signature of another kind"
	}
}

// verifySSH checks an armored SSH signature. Its errors complete "commit
// <sha> …".
func (t *trustedKeys) verifySSH(payload, armored []byte) error {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return errors.New("has a signature that cannot be read: signature invalid")
	}
	fingerprint := ssh.FingerprintSHA256(sig.PublicKey)
	for _, key := range t.ssh {
		if ssh.FingerprintSHA256(key) != fingerprint {
			continue
		}
		if sig.Namespace != sshNamespace {
			return fmt.Errorf("is signed for namespace %q, not %q: signature invalid", sig.Namespace, sshNamespace)
		}
		if err := sshsig.Verify(bytes.NewReader(payload), sig, key, sig.HashAlgorithm, sshNamespace); err != nil {
			return fmt.Errorf("signature invalid (%s)", fingerprint)
		}
		return nil
	}
	return fmt.Errorf("is signed by a key not in the trusted keys (%s)", fingerprint)
}

// verifyPGP checks an armored OpenPGP signature. Its errors complete
// "commit <sha> …".
func (t *trustedKeys) verifyPGP(payload, armored []byte) error {
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil || block.Type != openpgp.SignatureType {
		return errors.New("has a signature that cannot be read: signature invalid")
	}
	body, err := io.ReadAll(io.LimitReader(block.Body, maxCommitObjectBytes))
	if err != nil {
		return errors.New("has a signature that cannot be read: signature invalid")
	}
	_, _, err = openpgp.VerifyDetachedSignature(t.pgp, bytes.NewReader(payload), bytes.NewReader(body), nil)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return fmt.Errorf("is signed by a key not in the trusted keys (%s)", pgpIssuer(body))
	default:
		// The library's reasons (expired, revoked, bad signature) name no
		// key material.
		return fmt.Errorf("signature invalid (%s)", strings.TrimPrefix(err.Error(), "openpgp: "))
	}
}

// pgpIssuer names the key that made a signature: its fingerprint, or its
// key ID when the signature does not carry the fingerprint.
func pgpIssuer(body []byte) string {
	p, err := packet.Read(bytes.NewReader(body))
	if err != nil {
		return "unknown key"
	}
	sig, ok := p.(*packet.Signature)
	switch {
	case !ok:
		return "unknown key"
	case len(sig.IssuerFingerprint) > 0:
		return fmt.Sprintf("%X", sig.IssuerFingerprint)
	case sig.IssuerKeyId != nil:
		return fmt.Sprintf("key ID %016X", *sig.IssuerKeyId)
	default:
		return "unknown key"
	}
}

// splitSignedCommit splits a raw commit object into what its signature
// signs and the signature, as git does: the payload is the object without
// its signature headers (gpgsig and gpgsig-sha256, with their continuation
// lines), and the signature is the value of the header of the repository's
// hash (gpgsig for SHA-1, gpgsig-sha256 for SHA-256). The message, after
// the first empty line, is payload whatever it holds.
func splitSignedCommit(raw []byte, sha256 bool) (payload, sig []byte) {
	want := "gpgsig"
	if sha256 {
		want = "gpgsig-sha256"
	}
	var p, s bytes.Buffer
	inHeader, current := true, ""
	for line := range bytes.Lines(raw) {
		if !inHeader {
			p.Write(line)
			continue
		}
		if len(bytes.TrimRight(line, "\n")) == 0 {
			inHeader = false
			p.Write(line)
			continue
		}
		if line[0] == ' ' && current != "" {
			if current == want {
				s.Write(line[1:])
			}
			continue
		}
		current = ""
		name, value, _ := bytes.Cut(line, []byte(" "))
		if n := string(name); n == "gpgsig" || n == "gpgsig-sha256" {
			current = n
			if n == want {
				s.Write(value)
			}
			continue
		}
		p.Write(line)
	}
	return p.Bytes(), s.Bytes()
}

func unverified(detail string) *Error {
	return &Error{Kind: ErrUnverified, Detail: detail}
}
