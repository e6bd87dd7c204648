package source

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
