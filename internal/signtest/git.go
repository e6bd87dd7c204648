package signtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// NewSSHSigner makes an ed25519 key. sign signs a payload as `git commit -S`
// with gpg.format=ssh does (an armored SSH signature in namespace "git");
// authorizedKey is the public key as an authorized_keys line.
func NewSSHSigner(t testing.TB) (sign func(payload []byte) []byte, authorizedKey []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	sign = func(payload []byte) []byte {
		sig, err := sshsig.Sign(bytes.NewReader(payload), signer, sshsig.HashSHA512, "git")
		if err != nil {
			t.Fatalf("signtest: ssh signature: %v", err)
		}
		return sshsig.Armor(sig)
	}
	return sign, ssh.MarshalAuthorizedKey(signer.PublicKey())
}

// NewGPGSigner makes an OpenPGP key. sign makes an armored detached
// signature of a payload, as `git commit -S` does with gpg;
// armoredPublicKey is the public key, armored.
func NewGPGSigner(t testing.TB) (sign func(payload []byte) []byte, armoredPublicKey []byte) {
	t.Helper()
	config := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	entity, err := openpgp.NewEntity("Flotilla Test", "", "test@flotilla.invalid", config)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatalf("signtest: %v", err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatalf("signtest: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("signtest: %v", err)
	}
	sign = func(payload []byte) []byte {
		var sig bytes.Buffer
		if err := openpgp.ArmoredDetachSign(&sig, entity, bytes.NewReader(payload), config); err != nil {
			t.Fatalf("signtest: gpg signature: %v", err)
		}
		return sig.Bytes()
	}
	return sign, pub.Bytes()
}
