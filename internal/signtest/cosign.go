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
	signer, err := signature.LoadSigner(key, crypto.SHA256)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	raw, err := signer.SignMessage(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	if entity, err = mutate.AttachSignatureToEntity(entity, sig); err != nil {
		t.Fatalf("signtest: %v", err)
	}
	if err := ociremote.WriteSignatures(ref.Repository, entity, opts...); err != nil {
		t.Fatalf("signtest: writing the signature of %s: %v", ref, err)
	}
}
