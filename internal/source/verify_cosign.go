package source

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/signature"
)

// maxCosignSignatures bounds the signatures of one manifest that are
// checked: each costs a blob download and a verification per key.
const maxCosignSignatures = 64

// verifyCosign checks that the manifest ref names carries a cosign
// signature by one of v's keys or, when v.Keyless is set, by a certificate
// it trusts, in cosign's classic layout: a manifest tagged sha256-<hex>.sig
// in the same repository whose layers are simplesigning payloads naming
// the digest, with the signature (and certificate, chain and Rekor bundle)
// in annotations.
//
// Verification is offline: no transparency log (Rekor), certificate
// authority (Fulcio) or TUF root is consulted. A signature by a key counts
// whether or not it was logged; one by a certificate counts only with a
// Rekor bundle that rekor.pub verifies, as the certificate is valid only
// at the time the log recorded (issue: "keyless bundles too where they can
// be checked offline"). Signatures in the newer bundle format (OCI 1.1
// referrers) are not read and count as no signature.
func (c *Client) verifyCosign(ctx context.Context, ref OCIReference, creds *Credentials, v *Verification) error {
	verifiers, keyless, err := cosignTrust(v)
	if err != nil {
		return err
	}
	digest, err := name.NewDigest(ref.Registry+"/"+ref.Repository+"@"+ref.Digest, name.StrictValidation)
	if err != nil {
		return unverified(fmt.Sprintf("not a manifest digest: %s", ref.Digest))
	}
	hash, err := v1.NewHash(ref.Digest)
	if err != nil {
		return unverified(fmt.Sprintf("not a manifest digest: %s", ref.Digest))
	}
	opts, err := c.cosignRegistryOptions(ctx, creds)
	if err != nil {
		return err
	}
	// Signatures are looked for beside the manifest, whatever the
	// controller's environment says (cosign reads COSIGN_REPOSITORY).
	opts = append(opts, ociremote.WithTargetRepository(digest.Repository))
	sigs, serr := cosignSignatures(digest, opts)
	if serr != nil {
		return scrubError(serr, creds)
	}
	if len(sigs) == 0 {
		return unverified("no cosign signature found for " + ref.Digest)
	}
	for _, verifier := range verifiers {
		co := &cosign.CheckOpts{
			SigVerifier: verifier,
			// The payload must name this manifest: a signature copied
			// from another manifest's .sig tag is not one of this one.
			ClaimVerifier:      cosign.SimpleClaimVerifier,
			IgnoreTlog:         true,
			IgnoreSCT:          true,
			Offline:            true,
			RegistryClientOpts: opts,
		}
		for _, sig := range sigs {
			if _, err := cosign.VerifyImageSignature(ctx, sig, hash, co); err == nil {
				return nil
			}
		}
	}
	if keyless == nil {
		return unverified("no signature verified with the trusted keys")
	}
	return verifyKeyless(ctx, keyless, len(verifiers) > 0, sigs, hash, opts)
}

// verifyKeyless checks the signatures that carry a certificate; the error
// gives why the first of them was refused.
func verifyKeyless(ctx context.Context, t *keylessTrust, keys bool, sigs []oci.Signature, hash v1.Hash, opts []ociremote.Option) error {
	var why string
	for _, sig := range sigs {
		if cert, err := sig.Cert(); err == nil && cert == nil {
			continue // signed with a key
		}
		reason := t.verify(ctx, sig, hash, opts)
		if reason == "" {
			return nil
		}
		if why == "" {
			why = ": " + reason
		}
	}
	if keys {
		return unverified("no signature verified with the trusted keys or certificate authority" + why)
	}
	return unverified("no signature verified with the trusted certificate authority" + why)
}

// cosignTrust reads the PEM public keys and the keyless trust of a cosign
// Verification.
func cosignTrust(v *Verification) ([]signature.Verifier, *keylessTrust, error) {
	if v.Provider != VerifyCosign {
		return nil, nil, providerMismatch(fmt.Sprintf("%s verifies git commits; use cosign for OCI sources", v.Provider))
	}
	if len(v.Keys) == 0 && v.Keyless == nil {
		return nil, nil, unverified("no trusted keys given")
	}
	var verifiers []signature.Verifier
	for i, k := range v.Keys {
		keys, err := pemPublicKeys(k)
		if err != nil {
			return nil, nil, unverified(fmt.Sprintf("key %d cannot be read", i+1))
		}
		for _, key := range keys {
			verifier, err := signature.LoadVerifier(key, crypto.SHA256)
			if err != nil {
				return nil, nil, unverified(fmt.Sprintf("key %d cannot be read", i+1))
			}
			verifiers = append(verifiers, verifier)
		}
	}
	keyless, err := readKeyless(v.Keyless)
	if err != nil {
		return nil, nil, err
	}
	return verifiers, keyless, nil
}

// pemPublicKeys reads the PEM public keys of an entry (cosign.pub holds
// one; an entry may hold several).
func pemPublicKeys(entry []byte) ([]crypto.PublicKey, error) {
	blocks, err := pemBlocks(entry, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	var keys []crypto.PublicKey
	for _, der := range blocks {
		key, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key")
	}
	return keys, nil
}

// pemBlocks returns the contents of the PEM blocks in data, every one of
// which must be of type typ. What is around and between them is skipped.
func pemBlocks(data []byte, typ string) ([][]byte, error) {
	var blocks [][]byte
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return blocks, nil
		}
		if block.Type != typ {
			return nil, fmt.Errorf("a PEM block of type %q", block.Type)
		}
		blocks = append(blocks, block.Bytes)
		data = rest
	}
}

// cosignRegistryOptions reach the registry as the rest of this package
// does: the transport of httpClient (creds.CACert, no proxy from the
// environment), https only, and the credentials given, sent to the
// registry and the token service it names, as for a pull; never a keychain
// of this machine's.
func (c *Client) cosignRegistryOptions(ctx context.Context, creds *Credentials) ([]ociremote.Option, error) {
	hc, err := c.httpClient(creds)
	if err != nil {
		return nil, err
	}
	kind, err := creds.httpCredential(schemeHTTPS)
	if err != nil {
		return nil, err
	}
	authenticator := authn.Anonymous
	switch kind {
	case basicCredential:
		authenticator = &authn.Basic{Username: creds.Username, Password: creds.Password}
	case bearerCredential:
		authenticator = authn.FromConfig(authn.AuthConfig{RegistryToken: creds.BearerToken})
	}
	return []ociremote.Option{ociremote.WithRemoteOptions(
		ggcrremote.WithContext(ctx),
		ggcrremote.WithTransport(httpsOnly{next: hc.Transport}),
		ggcrremote.WithAuth(authenticator),
		ggcrremote.WithUserAgent("flotilla"),
	)}, nil
}

// httpsOnly keeps go-containerregistry to the rule of this package's other
// registry client: it would fall back to plain http for a registry on a
// loopback or private address.
type httpsOnly struct{ next http.RoundTripper }

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("plain http to %s refused: registries are reached over https", req.URL.Host)
	}
	return t.next.RoundTrip(req)
}

// cosignSignatures lists the signatures of a manifest; none when it has no
// .sig tag.
func cosignSignatures(digest name.Digest, opts []ociremote.Option) ([]oci.Signature, *Error) {
	tag, err := ociremote.SignatureTag(digest, opts...)
	if err != nil {
		return nil, cosignRegistryError("cannot name the signature tag", err)
	}
	sigs, err := ociremote.Signatures(tag, opts...)
	if err != nil {
		return nil, cosignRegistryError("cannot read the cosign signatures", err)
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, cosignRegistryError("cannot read the cosign signatures", err)
	}
	if len(list) > maxCosignSignatures {
		return nil, unverified(fmt.Sprintf("more than %d cosign signatures", maxCosignSignatures))
	}
	return list, nil
}

// cosignRegistryError turns a registry failure into an *Error, telling a refused
// authentication from other failures.
func cosignRegistryError(what string, err error) *Error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return &Error{Type: "oci", Kind: ErrAuth, Detail: what + ": " + err.Error()}
	}
	var unknownCA x509.UnknownAuthorityError
	var badCert *tls.CertificateVerificationError
	var badHost x509.HostnameError
	if errors.As(err, &unknownCA) || errors.As(err, &badCert) || errors.As(err, &badHost) {
		return &Error{Type: "oci", Kind: ErrHostVerification, Detail: what + ": " + err.Error(), cause: err}
	}
	return &Error{Type: "oci", Kind: ErrRegistry, Detail: what + ": " + err.Error(), cause: err}
}

// scrubError removes the credentials from an error's Detail, should a
// registry's message echo them.
func scrubError(err *Error, creds *Credentials) *Error {
	if creds == nil {
		return err
	}
	secrets := []string{creds.Password, creds.BearerToken}
	if creds.Username != "" || creds.Password != "" {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)))
	}
	for _, s := range secrets {
		if s != "" {
			err.Detail = strings.ReplaceAll(err.Detail, s, "***")
		}
	}
	return err
}
