package source

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/rekor/pkg/generated/models"
	rekortypes "github.com/sigstore/rekor/pkg/types"
	hashedrekord "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/tuf"
)

// noBundle is why a certificate signature without a Rekor bundle is
// refused: offline, the bundle's signed entry timestamp is the only proof
// that the signature was made while the short-lived certificate was valid.
const noBundle = "no transparency log entry (offline verification needs the Rekor bundle)"

// keylessTrust is a Keyless read: what cosign needs to check a signature
// made with a certificate, offline.
type keylessTrust struct {
	roots, intermediates *x509.CertPool // intermediates nil: the signature's chain is used
	rekor, ctlog         *cosign.TrustedTransparencyLogPubKeys
	identity             cosign.Identity
}

// readKeyless reads k; nil when k is. An incomplete Keyless is refused
// whole, rather than leaving certificate signatures to fail one by one.
func readKeyless(k *Keyless) (*keylessTrust, error) {
	if k == nil {
		return nil, nil
	}
	switch {
	case len(k.Roots) == 0:
		return nil, unverified("keyless verification needs the certificate authority's certificates")
	case len(k.RekorKeys) == 0:
		return nil, unverified("keyless verification needs rekor.pub, the transparency log's public key")
	case k.Issuer == "" || k.Subject == "":
		return nil, unverified("keyless verification needs identity.issuer and identity.subject")
	}
	t := &keylessTrust{identity: cosign.Identity{
		// Anchored: "alice@example.com" must not match
		// "alice@example.com.evil.test".
		IssuerRegExp:  "^(?:" + k.Issuer + ")$",
		SubjectRegExp: "^(?:" + k.Subject + ")$",
	}}
	if _, err := regexp.Compile(t.identity.IssuerRegExp); err != nil {
		return nil, unverified("identity.issuer is not a regular expression")
	}
	if _, err := regexp.Compile(t.identity.SubjectRegExp); err != nil {
		return nil, unverified("identity.subject is not a regular expression")
	}
	var err error
	if t.roots, t.intermediates, err = certificatePools(k.Roots); err != nil {
		return nil, unverified("the certificate authority's certificates cannot be read: " + err.Error())
	}
	if t.rekor, err = logKeys(k.RekorKeys, true); err != nil {
		return nil, unverified("rekor.pub cannot be read")
	}
	if len(k.CTLogKeys) > 0 {
		if t.ctlog, err = logKeys(k.CTLogKeys, false); err != nil {
			return nil, unverified("ctlog.pub cannot be read")
		}
	}
	return t, nil
}

// certificatePools sorts PEM certificates into self-signed roots and
// intermediates; intermediates is nil when there are none.
func certificatePools(data []byte) (roots, intermediates *x509.CertPool, err error) {
	blocks, err := pemBlocks(data, "CERTIFICATE")
	if err != nil {
		return nil, nil, err
	}
	var n int
	roots = x509.NewCertPool()
	for _, der := range blocks {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, errors.New("a certificate cannot be parsed")
		}
		if bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil {
			roots.AddCert(c)
			n++
			continue
		}
		if intermediates == nil {
			intermediates = x509.NewCertPool()
		}
		intermediates.AddCert(c)
	}
	if n == 0 && intermediates == nil {
		return nil, nil, errors.New("no PEM certificate")
	}
	if n == 0 {
		return nil, nil, errors.New("no root (self-signed) certificate")
	}
	return roots, intermediates, nil
}

// logKeys reads the PEM public keys of a transparency log, indexed by log
// ID as cosign looks them up. For Rekor only ECDSA keys count: cosign
// refuses others, and Rekor v2's Ed25519 entries come only in the new
// bundle format, so such keys (as sigstore's trusted_root.json lists) are
// skipped.
func logKeys(data []byte, ecdsaOnly bool) (*cosign.TrustedTransparencyLogPubKeys, error) {
	keys, err := pemPublicKeys(data)
	if err != nil {
		return nil, err
	}
	out := cosign.NewTrustedTransparencyLogPubKeys()
	for _, key := range keys {
		if _, ok := key.(*ecdsa.PublicKey); ecdsaOnly && !ok {
			continue
		}
		id, err := cosign.GetTransparencyLogID(key)
		if err != nil {
			return nil, err
		}
		out.Keys[id] = cosign.TransparencyLogPubKey{PubKey: key, Status: tuf.Active}
	}
	if len(out.Keys) == 0 {
		return nil, errors.New("no ECDSA key")
	}
	return &out, nil
}

// checkOpts are cosign's options for a certificate signature: the chain to
// the roots, the identity, the Rekor bundle checked with rekor.pub at the
// log's integrated time, SCTs only with ctlog.pub; nothing online.
func (t *keylessTrust) checkOpts(opts []ociremote.Option) *cosign.CheckOpts {
	return &cosign.CheckOpts{
		RootCerts:          t.roots,
		IntermediateCerts:  t.intermediates,
		Identities:         []cosign.Identity{t.identity},
		RekorPubKeys:       t.rekor,
		CTLogPubKeys:       t.ctlog,
		IgnoreSCT:          t.ctlog == nil,
		Offline:            true,
		ClaimVerifier:      cosign.SimpleClaimVerifier,
		RegistryClientOpts: opts,
	}
}

// verify checks one signature that carries a certificate: "" when it
// verifies, else why it does not, in words without key material.
func (t *keylessTrust) verify(ctx context.Context, sig oci.Signature, hash v1.Hash, opts []ociremote.Option) string {
	cert, err := sig.Cert()
	if err != nil {
		return "a signature's certificate cannot be read"
	}
	b, err := sig.Bundle()
	switch {
	case err != nil:
		return "a signature's transparency log entry cannot be read"
	case b == nil:
		return noBundle
	case !isHashedRekord(b):
		// cosign type-asserts and indexes the entry unchecked: only the
		// kind of entry `cosign sign` makes goes on.
		return "a signature's transparency log entry is not a hashedrekord entry"
	}
	co := t.checkOpts(opts)
	if _, err := cosign.VerifyImageSignature(ctx, sig, hash, co); err == nil {
		return ""
	}
	return t.diagnose(ctx, sig, cert, b, hash, co)
}

// isHashedRekord tells whether a Rekor bundle's body is a well-formed
// hashedrekord entry.
func isHashedRekord(b *cbundle.RekorBundle) bool {
	body, ok := b.Payload.Body.(string)
	if !ok {
		return false
	}
	pe, err := models.UnmarshalProposedEntry(base64.NewDecoder(base64.StdEncoding, strings.NewReader(body)), runtime.JSONConsumer())
	if err != nil {
		return false
	}
	entry, err := rekortypes.UnmarshalEntry(pe)
	if err != nil {
		return false
	}
	_, ok = entry.(*hashedrekord.V001Entry)
	return ok
}

// diagnose tells why cosign refused a certificate signature, step by step
// with cosign's own checks, in the order a reader fixes them.
func (t *keylessTrust) diagnose(ctx context.Context, sig oci.Signature, cert *x509.Certificate, b *cbundle.RekorBundle, hash v1.Hash, co *cosign.CheckOpts) string {
	chains, err := cosign.TrustedCert(withoutSANCritical(cert), t.roots, t.chainPool(sig))
	if err != nil {
		return "certificate not issued by the trusted certificate authority"
	}
	if err := cosign.CheckCertificatePolicy(cert, co); err != nil {
		issuer := (&cosign.CertExtensions{Cert: cert}).GetIssuer()
		return fmt.Sprintf("certificate of %s (issuer %s) does not match identity.subject and identity.issuer",
			strings.Join(cryptoutils.GetSubjectAlternateNames(cert), ", "), issuer)
	}
	if !t.setVerifies(b) {
		return "transparency log entry not signed with rekor.pub"
	}
	if ok, err := cosign.VerifyBundle(sig, co); err != nil || !ok {
		return "transparency log entry is not of this signature"
	}
	if err := cosign.CheckExpiry(cert, time.Unix(b.Payload.IntegratedTime, 0)); err != nil {
		return "certificate not valid when the transparency log recorded the signature"
	}
	if t.ctlog != nil {
		if err := cosign.VerifyEmbeddedSCT(ctx, chains[0], t.ctlog); err != nil {
			return "certificate carries no SCT verified with ctlog.pub"
		}
	}
	if err := cosign.SimpleClaimVerifier(sig, hash, nil); err != nil {
		return "signature of another manifest"
	}
	return "signature not verified with its certificate"
}

// chainPool is the intermediates cosign uses for sig: those given, else
// the signature's own chain but its last (root) certificate.
func (t *keylessTrust) chainPool(sig oci.Signature) *x509.CertPool {
	if t.intermediates != nil {
		return t.intermediates
	}
	chain, err := sig.Chain()
	if err != nil || len(chain) < 2 {
		return nil
	}
	pool := x509.NewCertPool()
	for _, c := range chain[:len(chain)-1] {
		pool.AddCert(c)
	}
	return pool
}

// setVerifies tells whether one of rekor.pub's keys signed the bundle's
// signed entry timestamp.
func (t *keylessTrust) setVerifies(b *cbundle.RekorBundle) bool {
	key, ok := t.rekor.Keys[b.Payload.LogID]
	if !ok {
		return false
	}
	pub, ok := key.PubKey.(*ecdsa.PublicKey)
	return ok && cosign.VerifySET(b.Payload, b.SignedEntryTimestamp, pub) == nil
}

// withoutSANCritical is cert without the critical subject alternative
// name Go leaves unhandled (Fulcio's OtherName), as cosign checks it.
func withoutSANCritical(cert *x509.Certificate) *x509.Certificate {
	c := *cert
	c.UnhandledCriticalExtensions = nil
	for _, oid := range cert.UnhandledCriticalExtensions {
		if !oid.Equal(cryptoutils.SANOID) {
			c.UnhandledCriticalExtensions = append(c.UnhandledCriticalExtensions, oid)
		}
	}
	return &c
}
