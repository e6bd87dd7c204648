package source

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// The signature providers of a Verification.
const (
	// VerifyCosign checks cosign signatures of OCI artifacts and OCI charts.
	VerifyCosign = "cosign"
	// VerifySSH checks SSH signatures of git commits.
	VerifySSH = "ssh"
	// VerifyGPG checks OpenPGP signatures of git commits.
	VerifyGPG = "gpg"
)

// providerMismatch is the error of a Verification that cannot apply to the
// kind of source: ErrUnverified, and ErrProviderMismatch.
func providerMismatch(detail string) *Error {
	return &Error{Kind: ErrUnverified, Detail: detail, cause: ErrProviderMismatch}
}

// Verification asks that a revision be signed by one of Keys (or, for
// cosign, by a certificate Keyless trusts) before any of its content is
// used. The controller fills it from spec.source.verify and the Secret it
// names.
type Verification struct {
	// Provider is VerifyCosign, VerifySSH or VerifyGPG.
	Provider string
	// Keys are the trusted public keys, one per entry of the Secret: PEM
	// public keys (cosign), authorized_keys lines (ssh), or armored OpenPGP
	// public keys (gpg).
	Keys [][]byte
	// Keyless, for cosign only, trusts signatures made with a short-lived
	// certificate (cosign's keyless signing with Fulcio), checked offline;
	// nil trusts keys only.
	Keyless *Keyless
}

// Keyless is what an offline check of a keyless cosign signature needs:
// the certificate authority that issued the signing certificate, the
// transparency log whose signed entry timestamp shows the signature was
// made while that short-lived certificate was valid, and whose
// certificate counts. All but CTLogKeys are required.
type Keyless struct {
	// Roots are the PEM certificates of the certificate authority (Fulcio's
	// or a private one): its roots and, optionally, intermediates.
	Roots []byte
	// RekorKeys are the PEM public keys of the transparency log (Rekor).
	RekorKeys []byte
	// CTLogKeys are the PEM public keys of the certificate transparency
	// log; when given, a certificate must carry an SCT one of them signed.
	// Without them SCTs are not checked.
	CTLogKeys []byte
	// Issuer and Subject are regular expressions that the whole of the
	// certificate's OIDC issuer and one of its subject alternative names
	// (an email address or a URI) must match.
	Issuer, Subject string
}

// maxVerified bounds the signature checks a Client remembers.
const maxVerified = 4096

// verifiedSet remembers which manifests verified with which trust, so that
// the resyncs of an unchanged revision do not read its signatures from the
// registry again: a manifest digest names content that cannot change, and
// the trust is part of the key, so a changed Secret checks again.
type verifiedSet struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]struct{}
}

func (s *verifiedSet) key(ref OCIReference, v *Verification) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	for _, f := range []string{ref.Registry, ref.Repository, ref.Digest, v.Provider} {
		field([]byte(f))
	}
	for _, k := range v.Keys {
		field(k)
	}
	if k := v.Keyless; k != nil {
		for _, f := range [][]byte{k.Roots, k.RekorKeys, k.CTLogKeys, []byte(k.Issuer), []byte(k.Subject)} {
			field(f)
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func (s *verifiedSet) has(key [sha256.Size]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	return ok
}

func (s *verifiedSet) add(key [sha256.Size]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxVerified {
		s.m = map[[sha256.Size]byte]struct{}{}
	}
	s.m[key] = struct{}{}
}
