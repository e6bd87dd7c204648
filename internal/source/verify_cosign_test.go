package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flotilla-dev/flotilla/internal/signtest"
)

// testRegistry is an in-process OCI registry over https.
type testRegistry struct {
	host   string
	caCert []byte
	srv    *httptest.Server
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &testRegistry{
		host:   srv.Listener.Addr().String(),
		caCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
		srv:    srv,
	}
}

// push writes a random image to repo:tag and returns its digest.
func (r *testRegistry) push(t *testing.T, repo, tag string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(r.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrremote.Write(ref, img, ggcrremote.WithTransport(r.srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// copySignatures copies the .sig manifest of digest from to that of to, as
// someone with write access to the repository could.
func (r *testRegistry) copySignatures(t *testing.T, repo, from, to string) {
	t.Helper()
	tr := ggcrremote.WithTransport(r.srv.Client().Transport)
	tag := func(d string) name.Tag {
		h, err := v1.NewHash(d)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewTag(r.host + "/" + repo + ":" + h.Algorithm + "-" + h.Hex + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	img, err := ggcrremote.Image(tag(from), tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrremote.Write(tag(to), img, tr); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyCosign checks cosign signatures pushed with cosign's own code
// to a real registry: only a signature by a trusted key of this very
// manifest counts.
func TestVerifyCosign(t *testing.T) {
	reg := newTestRegistry(t)
	key, pub := signtest.NewCosignKey(t)
	otherKey, otherPub := signtest.NewCosignKey(t)
	signed := reg.push(t, "apps/web", "signed")
	unsigned := reg.push(t, "apps/web", "unsigned")
	byOther := reg.push(t, "apps/web", "other")
	copied := reg.push(t, "apps/web", "copied")
	signtest.CosignSign(t, signtest.Registry{Host: reg.host, CACert: reg.caCert}, "apps/web", signed, key)
	signtest.CosignSign(t, signtest.Registry{Host: reg.host, CACert: reg.caCert}, "apps/web", byOther, otherKey)
	reg.copySignatures(t, "apps/web", signed, copied)
	c := newInternalClient(t)
	creds := &Credentials{CACert: reg.caCert}

	for _, tt := range []struct {
		name   string
		digest string
		keys   [][]byte
		want   string // "" for verified
	}{
		{"signed", signed, [][]byte{pub}, ""},
		{"signed, trusted second of two keys", signed, [][]byte{otherPub, pub}, ""},
		{"two keys in one entry", signed, [][]byte{append(append([]byte{}, otherPub...), pub...)}, ""},
		{"unsigned", unsigned, [][]byte{pub}, "no cosign signature found for " + unsigned},
		{"signed by another key", byOther, [][]byte{pub}, "no signature verified with the trusted keys"},
		{"signature of another manifest", copied, [][]byte{pub}, "no signature verified with the trusted keys"},
		{"key cannot be read", signed, [][]byte{pub, []byte("not a key")}, "key 2 cannot be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref := OCIReference{Registry: reg.host, Repository: "apps/web", Digest: tt.digest}
			wantVerified(t, c.verifyCosign(t.Context(), ref, creds,
				&Verification{Provider: VerifyCosign, Keys: tt.keys}), tt.want)
		})
	}
}

// TestVerifyCosignKeyless checks keyless signatures (a certificate from a
// Fulcio-like CA, a Rekor bundle) pushed with cosign's own code, checked
// offline against the CA's root, rekor.pub and the identity given.
func TestVerifyCosignKeyless(t *testing.T) {
	reg := newTestRegistry(t)
	r := signtest.Registry{Host: reg.host, CACert: reg.caCert}
	ca, otherCA := signtest.NewCosignCA(t), signtest.NewCosignCA(t)
	log, otherLog := signtest.NewRekorLog(t), signtest.NewRekorLog(t)
	key, pub := signtest.NewCosignKey(t)
	const issuer, subject = "https://issuer.example.com", "alice@example.com"
	signer := signtest.Keyless{CA: ca, Issuer: issuer, Subject: subject, Log: log}
	sign := func(tag string, k signtest.Keyless) string {
		d := reg.push(t, "apps/web", tag)
		signtest.CosignSignKeyless(t, r, "apps/web", d, k)
		return d
	}
	signed := sign("signed", signer)
	byOtherCA := sign("other-ca", signtest.Keyless{CA: otherCA, Issuer: issuer, Subject: subject, Log: log})
	noBundle := sign("no-bundle", signtest.Keyless{CA: ca, Issuer: issuer, Subject: subject})
	otherLogged := sign("other-log", signtest.Keyless{CA: ca, Issuer: issuer, Subject: subject, Log: otherLog})
	keySigned := reg.push(t, "apps/web", "key")
	signtest.CosignSign(t, r, "apps/web", keySigned, key)
	copied := reg.push(t, "apps/web", "copied")
	reg.copySignatures(t, "apps/web", signed, copied)
	c := newInternalClient(t)
	creds := &Credentials{CACert: reg.caCert}
	trust := func(edit func(*Keyless)) *Keyless {
		k := &Keyless{Roots: ca.RootPEM, RekorKeys: log.PubPEM, Issuer: issuer, Subject: subject}
		if edit != nil {
			edit(k)
		}
		return k
	}
	refused := " does not match identity.subject and identity.issuer"
	// Rekor v2's key, as sigstore's trusted_root.json lists it beside v1's.
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	edPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER})

	for _, tt := range []struct {
		name    string
		digest  string
		keys    [][]byte
		keyless *Keyless
		want    string // "" for verified
	}{
		{"keyless", signed, nil, trust(nil), ""},
		{"root and intermediate given", signed, nil, trust(func(k *Keyless) { k.Roots = append(append([]byte{}, ca.IntermediatePEM...), ca.RootPEM...) }), ""},
		{"subject and issuer by regexp", signed, nil, trust(func(k *Keyless) { k.Subject, k.Issuer = `.*@example\.com`, `https://.*` }), ""},
		{"wrong subject", signed, nil, trust(func(k *Keyless) { k.Subject = "bob@example.com" }),
			"no signature verified with the trusted certificate authority: certificate of alice@example.com (issuer https://issuer.example.com)" + refused},
		{"subject matched whole", signed, nil, trust(func(k *Keyless) { k.Subject = "alice@example.co" }), refused},
		{"wrong issuer", signed, nil, trust(func(k *Keyless) { k.Issuer = "https://other.example.com" }), refused},
		{"certificate of another CA", byOtherCA, nil, trust(nil), "certificate not issued by the trusted certificate authority"},
		{"no bundle", noBundle, nil, trust(nil), "no transparency log entry (offline verification needs the Rekor bundle)"},
		{"bundle signed by another log", otherLogged, nil, trust(nil), "transparency log entry not signed with rekor.pub"},
		{"signature of another manifest", copied, nil, trust(nil), "signature of another manifest"},
		{"ctlog.pub given, no SCT", signed, nil, trust(func(k *Keyless) { k.CTLogKeys = log.PubPEM }), "certificate carries no SCT verified with ctlog.pub"},
		{"key signature, keyless trust", keySigned, nil, trust(nil), "no signature verified with the trusted certificate authority"},
		{"keyless signature, key trust", signed, [][]byte{pub}, nil, "no signature verified with the trusted keys"},
		{"mixed trust, key signature", keySigned, [][]byte{pub}, trust(nil), ""},
		{"mixed trust, keyless signature", signed, [][]byte{pub}, trust(nil), ""},
		{"mixed trust, neither", byOtherCA, [][]byte{pub}, trust(nil),
			"no signature verified with the trusted keys or certificate authority: certificate not issued"},
		{"no rekor.pub", signed, nil, trust(func(k *Keyless) { k.RekorKeys = nil }), "keyless verification needs rekor.pub"},
		{"no identity", signed, nil, trust(func(k *Keyless) { k.Subject = "" }), "keyless verification needs identity.issuer and identity.subject"},
		{"no roots", signed, [][]byte{pub}, trust(func(k *Keyless) { k.Roots = nil }), "keyless verification needs the certificate authority's certificates"},
		{"subject not a regexp", signed, nil, trust(func(k *Keyless) { k.Subject = "(" }), "identity.subject is not a regular expression"},
		{"rekor.pub with an Ed25519 key too", signed, nil, trust(func(k *Keyless) { k.RekorKeys = append(append([]byte{}, edPEM...), log.PubPEM...) }), ""},
		{"rekor.pub without an ECDSA key", signed, nil, trust(func(k *Keyless) { k.RekorKeys = edPEM }), "rekor.pub cannot be read"},
		{"rekor.pub not a key", signed, nil, trust(func(k *Keyless) { k.RekorKeys = ca.RootPEM }), "rekor.pub cannot be read"},
		{"intermediate only", signed, nil, trust(func(k *Keyless) { k.Roots = ca.IntermediatePEM }), "no root (self-signed) certificate"},
		{"a key among the certificates", signed, nil, trust(func(k *Keyless) { k.Roots = append(append([]byte{}, ca.RootPEM...), pub...) }),
			`the certificate authority's certificates cannot be read: a PEM block of type "PUBLIC KEY"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref := OCIReference{Registry: reg.host, Repository: "apps/web", Digest: tt.digest}
			wantVerified(t, c.verifyCosign(t.Context(), ref, creds,
				&Verification{Provider: VerifyCosign, Keys: tt.keys, Keyless: tt.keyless}), tt.want)
		})
	}
}

// TestVerifyCosignRegistryRules checks that the registry is reached only
// as the rest of the package reaches one: trusting the CA given, not any.
func TestVerifyCosignRegistryRules(t *testing.T) {
	reg := newTestRegistry(t)
	_, pub := signtest.NewCosignKey(t)
	digest := reg.push(t, "apps/web", "v1")
	c := newInternalClient(t)
	ref := OCIReference{Registry: reg.host, Repository: "apps/web", Digest: digest}
	err := c.verifyCosign(t.Context(), ref, nil, &Verification{Provider: VerifyCosign, Keys: [][]byte{pub}})
	wantKind(t, err, ErrHostVerification)
}

func newInternalClient(t *testing.T) *Client {
	t.Helper()
	opts := DefaultOptions()
	opts.CacheDir = t.TempDir()
	opts.AllowLoopback = true // the test servers listen on loopback
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) {
		t.Fatalf("error = %v (%T), want an *Error of kind %v", err, err, kind)
	}
	t.Logf("as expected: %v", err)
}

// wantVerified checks the outcome of a verification: err is nil when want
// is "", else ErrUnverified saying want, and never quoting a PEM block.
func wantVerified(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("verifyCosign: %v", err)
	case want == "":
	case err == nil:
		t.Fatalf("verifyCosign: nil, want %q", want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("verifyCosign: %v, want %q", err, want)
	case strings.Contains(err.Error(), "-----BEGIN"):
		t.Fatalf("verifyCosign: %v, which holds PEM", err)
	default:
		wantKind(t, err, ErrUnverified)
	}
}
