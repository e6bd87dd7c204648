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

// Verification asks that a revision be signed by one of Keys before any of
// its content is used. The controller fills it from spec.source.verify and
// the Secret it names.
type Verification struct {
	// Provider is VerifyCosign, VerifySSH or VerifyGPG.
	Provider string
	// Keys are the trusted public keys, one per entry of the Secret: PEM
	// public keys (cosign), authorized_keys lines (ssh), or armored OpenPGP
	// public keys (gpg).
	Keys [][]byte
}
