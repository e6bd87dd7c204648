package signtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/rekor/pkg/generated/models"
	hashedrekord "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
)

// Fulcio's certificate extensions for the OIDC issuer: the deprecated raw
// string (which cosign 2 matches identities against) and its DER
// successor; Fulcio writes both.
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// CosignCA is a certificate authority in Fulcio's shape: a root and an
// intermediate that issues short-lived code-signing certificates.
type CosignCA struct {
	// RootPEM is the root certificate, as a verification Secret holds it.
	RootPEM []byte
	// IntermediatePEM is the certificate of the issuing intermediate.
	IntermediatePEM []byte

	root, intermediate *x509.Certificate
	key                *ecdsa.PrivateKey // the intermediate's
}

// NewCosignCA makes a CosignCA valid for an hour.
func NewCosignCA(t testing.TB) *CosignCA {
	t.Helper()
	rootKey := newECDSAKey(t)
	now := time.Now()
	root := issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "signtest root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, rootKey, &rootKey.PublicKey)
	key := newECDSAKey(t)
	intermediate := issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "signtest intermediate"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, root, rootKey, &key.PublicKey)
	return &CosignCA{
		RootPEM:         certPEM(root),
		IntermediatePEM: certPEM(intermediate),
		root:            root,
		intermediate:    intermediate,
		key:             key,
	}
}

// RekorLog is a transparency log that only signs: its key signs the signed
// entry timestamps of the Rekor bundles CosignSignKeyless makes.
type RekorLog struct {
	// PubPEM is the log's public key, as rekor.pub holds it.
	PubPEM []byte
	key    *ecdsa.PrivateKey
	id     string
}

// NewRekorLog makes a RekorLog with an ECDSA P-256 key, as Rekor's.
func NewRekorLog(t testing.TB) *RekorLog {
	t.Helper()
	key := newECDSAKey(t)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	id, err := cosign.GetTransparencyLogID(&key.PublicKey)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	return &RekorLog{PubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), key: key, id: id}
}

// Keyless is who signs with CosignSignKeyless and how.
type Keyless struct {
	// CA issues the signing certificate.
	CA *CosignCA
	// Issuer is the OIDC issuer the certificate names; Subject its
	// subject alternative name, an email address or, with a scheme, a URI.
	Issuer, Subject string
	// Log signs the Rekor bundle; nil attaches none, as `cosign sign
	// --tlog-upload=false` does.
	Log *RekorLog
}

// CosignSignKeyless signs the manifest digest of repo as `cosign sign`
// does keylessly: an ephemeral key, a certificate for it from k.CA naming
// k.Issuer and k.Subject, the chain (intermediate, root), and a Rekor
// bundle for a hashedrekord entry whose signed entry timestamp k.Log signs,
// attached with cosign's own code.
func CosignSignKeyless(t testing.TB, reg Registry, repo, digest string, k Keyless) {
	t.Helper()
	key := newECDSAKey(t)
	now := time.Now()
	leaf := &x509.Certificate{
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    now.Add(10 * time.Minute),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if u, err := url.Parse(k.Subject); err == nil && u.Scheme != "" {
		leaf.URIs = []*url.URL{u}
	} else {
		leaf.EmailAddresses = []string{k.Subject}
	}
	issuerV2, err := asn1.MarshalWithParams(k.Issuer, "utf8")
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	leaf.ExtraExtensions = []pkix.Extension{
		{Id: oidIssuerV1, Value: []byte(k.Issuer)},
		{Id: oidIssuerV2, Value: issuerV2},
	}
	cert := certPEM(issue(t, leaf, k.CA.intermediate, k.CA.key, &key.PublicKey))
	chain := append(append([]byte{}, k.CA.IntermediatePEM...), k.CA.RootPEM...)
	cosignAttach(t, reg, repo, digest, func(body []byte) oci.Signature {
		raw := signPayload(t, key, body)
		opts := []static.Option{static.WithCertChain(cert, chain)}
		if k.Log != nil {
			opts = append(opts, static.WithBundle(k.Log.bundle(t, body, raw, cert)))
		}
		sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw), opts...)
		if err != nil {
			t.Fatalf("signtest: %v", err)
		}
		return sig
	})
}

// bundle is the Rekor bundle of a hashedrekord entry for the signature raw
// of body by cert's key, as Rekor would return it: the canonical entry,
// the time and place it was logged, and the log's signature over them.
func (l *RekorLog) bundle(t testing.TB, body, raw, cert []byte) *cbundle.RekorBundle {
	t.Helper()
	sum := sha256.Sum256(body)
	entry := hashedrekord.V001Entry{HashedRekordObj: models.HashedrekordV001Schema{
		Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{
			Algorithm: ptr(models.HashedrekordV001SchemaDataHashAlgorithmSha256),
			Value:     ptr(hex.EncodeToString(sum[:])),
		}},
		Signature: &models.HashedrekordV001SchemaSignature{
			Content:   strfmt.Base64(raw),
			PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: strfmt.Base64(cert)},
		},
	}}
	canonical, err := entry.Canonicalize(t.Context())
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	p := cbundle.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(canonical),
		IntegratedTime: time.Now().Unix(),
		LogIndex:       1,
		LogID:          l.id,
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	js, err = jsoncanonicalizer.Transform(js)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	h := sha256.Sum256(js)
	set, err := ecdsa.SignASN1(rand.Reader, l.key, h[:])
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	return &cbundle.RekorBundle{SignedEntryTimestamp: set, Payload: p}
}

// issue signs tmpl with parentKey, as parent (nil: self-signed).
func issue(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, pub *ecdsa.PublicKey) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	return cert
}

func newECDSAKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	return key
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func ptr[T any](v T) *T { return &v }
