package signtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// NewCosignKey makes an ECDSA P-256 key, the kind `cosign generate-key-pair`
// makes; pubPEM is its public key as cosign.pub holds it.
func NewCosignKey(t testing.TB) (priv crypto.Signer, pubPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Registry is where CosignSign pushes a signature: host:port, reached over
// https trusting CACert, with basic auth when Username is set.
type Registry struct {
	Host               string
	CACert             []byte
	Username, Password string
}

// CosignSign signs the manifest digest of repo in the registry at
// registryHost (host:port, reached over https trusting caCert) as `cosign
// sign --key --tlog-upload=false` does: a simplesigning payload naming the
// digest, signed with key, attached to the manifest tagged
// sha256-<hex>.sig, with cosign's own code. Signing again adds a signature.
// A registry with basic auth takes the Registry's Username and Password.
func CosignSign(t testing.TB, reg Registry, repo, digest string, key crypto.Signer) {
	t.Helper()
	cosignAttach(t, reg, repo, digest, func(body []byte) oci.Signature {
		raw := signPayload(t, key, body)
		sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw))
		if err != nil {
			t.Fatalf("signtest: %v", err)
		}
		return sig
	})
}

// cosignAttach attaches the signature sign makes of the simplesigning
// payload naming digest to the manifest tagged sha256-<hex>.sig, with
// cosign's own code.
func cosignAttach(t testing.TB, reg Registry, repo, digest string, sign func(body []byte) oci.Signature) {
	t.Helper()
	ref, err := name.NewDigest(reg.Host + "/" + repo + "@" + digest)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(reg.CACert) {
		t.Fatalf("signtest: no certificate in caCert")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	remoteOpts := []ggcrremote.Option{ggcrremote.WithTransport(tr)}
	if reg.Username != "" {
		remoteOpts = append(remoteOpts, ggcrremote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password}))
	}
	opts := []ociremote.Option{ociremote.WithRemoteOptions(remoteOpts...)}

	entity, err := ociremote.SignedEntity(ref, opts...)
	if err != nil {
		t.Fatalf("signtest: %s: %v", ref, err)
	}
	body, err := (&payload.Cosign{Image: ref}).MarshalJSON()
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	if entity, err = mutate.AttachSignatureToEntity(entity, sign(body)); err != nil {
		t.Fatalf("signtest: %v", err)
	}
	if err := ociremote.WriteSignatures(ref.Repository, entity, opts...); err != nil {
		t.Fatalf("signtest: writing the signature of %s: %v", ref, err)
	}
}

// signPayload signs body with key as cosign does: ECDSA over its SHA-256.
func signPayload(t testing.TB, key crypto.Signer, body []byte) []byte {
	t.Helper()
	signer, err := signature.LoadSigner(key, crypto.SHA256)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	raw, err := signer.SignMessage(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	return raw
}
