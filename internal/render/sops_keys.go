package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3/keyservice"
)

// Decryption holds the private keys that SOPS-encrypted files are
// decrypted with: an Application's spec.source.decryption, read from its
// Secret. They are used for this Request only, never the environment's.
type Decryption struct {
	// AgeKeys are age identities ("AGE-SECRET-KEY-1…", or the post-quantum
	// "AGE-SECRET-KEY-PQ-1…"). An entry may hold several, one a line, with
	// empty lines and "#" comments, as an age key file does. Plugin
	// identities are refused: they run programs.
	AgeKeys []string
	// PGPKeys are ASCII-armored OpenPGP private keys, without a passphrase.
	PGPKeys [][]byte
}

const (
	// maxEncryptedDataKey caps one master key's encrypted data key: a
	// real one is a few hundred bytes (a post-quantum age stanza some
	// kilobytes); a larger one would only make decryption attempts costly.
	maxEncryptedDataKey = 16 << 10
	// dataKeySize is the size of a SOPS data key (AES-256).
	dataKeySize = 32
)

// keyring is a Request's decryption keys, parsed. It is the sops key service
// decryptSOPS asks for data keys: in process, with these keys only.
type keyring struct {
	age []age.Identity
	pgp openpgp.EntityList
	// hash identifies the keys in the render cache's key.
	hash string
}

var _ keyservice.KeyServiceServer = (*keyring)(nil)

// parseDecryption checks and parses the Request's keys, before anything is
// read. No keys give a nil keyring. Errors never quote a key.
func parseDecryption(d *Decryption) (*keyring, error) {
	if d == nil {
		return nil, nil
	}
	k := &keyring{}
	h := sha256.New()
	for i, entry := range d.AgeKeys {
		ids, err := parseAgeKeys(i+1, entry)
		if err != nil {
			return nil, err
		}
		k.age = append(k.age, ids...)
		hashPart(h, "age", []byte(entry))
	}
	for i, armored := range d.PGPKeys {
		entities, err := parsePGPKey(i+1, armored)
		if err != nil {
			return nil, err
		}
		k.pgp = append(k.pgp, entities...)
		hashPart(h, "pgp", armored)
	}
	if len(k.age) == 0 && len(k.pgp) == 0 {
		return nil, nil
	}
	k.hash = hex.EncodeToString(h.Sum(nil))
	return k, nil
}

// hashPart writes a kind and a length-prefixed value, so that no two lists
// of keys hash alike.
func hashPart(w io.Writer, kind string, data []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(data)))
	_, _ = io.WriteString(w, kind)
	_, _ = w.Write(n[:])
	_, _ = w.Write(data)
}

// cacheKeyPart is what of the keys the render cache's key holds.
func (k *keyring) cacheKeyPart() string {
	if k == nil {
		return ""
	}
	return k.hash
}

func parseAgeKeys(n int, entry string) ([]age.Identity, error) {
	var ids []age.Identity
	for i, line := range strings.Split(entry, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		default:
			err = errors.New("unknown")
		}
		if err != nil {
			return nil, &Error{Kind: ErrDecryption, Msg: fmt.Sprintf("decryption age key %d, line %d, is not an age secret key (AGE-SECRET-KEY-1…)", n, i+1)}
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, &Error{Kind: ErrDecryption, Msg: fmt.Sprintf("decryption age key %d holds no age secret key", n)}
	}
	return ids, nil
}

func parsePGPKey(n int, armored []byte) (openpgp.EntityList, error) {
	entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, &Error{Kind: ErrDecryption, Msg: fmt.Sprintf("decryption PGP key %d is not an armored OpenPGP key", n)}
	}
	private := false
	for _, e := range entities {
		if e.PrivateKey != nil {
			private = true
			if e.PrivateKey.Encrypted {
				return nil, &Error{Kind: ErrDecryption, Msg: fmt.Sprintf("decryption PGP key %d is protected by a passphrase; give it without one", n)}
			}
		}
		for _, sub := range e.Subkeys {
			if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
				return nil, &Error{Kind: ErrDecryption, Msg: fmt.Sprintf("decryption PGP key %d is protected by a passphrase; give it without one", n)}
			}
		}
	}
	if !private {
		return nil, &Error{Kind: ErrDecryption, Msg: fmt.Sprintf("decryption PGP key %d is a public key, not a private one", n)}
	}
	return entities, nil
}

// errNoKey answers a request the keyring cannot serve. sops collects these
// errors; decryptSOPS reports the file's recipients instead of them.
var errNoKey = errors.New("no key of the Application decrypts this data key")

// Decrypt decrypts a data key with the keyring's age or PGP keys. Other
// kinds of keys (cloud KMS, Vault) are not offered.
func (k *keyring) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	if len(req.GetCiphertext()) > maxEncryptedDataKey {
		return nil, errNoKey
	}
	var plain []byte
	var err error
	switch {
	case req.GetKey().GetAgeKey() != nil:
		plain, err = k.decryptAge(req.GetCiphertext())
	case req.GetKey().GetPgpKey() != nil:
		plain, err = k.decryptPGP(req.GetCiphertext())
	default:
		err = errNoKey
	}
	if err != nil || len(plain) != dataKeySize {
		return nil, errNoKey
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

// Encrypt is not offered: rendering only decrypts.
func (k *keyring) Encrypt(context.Context, *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	return nil, errors.New("encryption is not offered")
}

func (k *keyring) decryptAge(ciphertext []byte) ([]byte, error) {
	if len(k.age) == 0 {
		// Never reach age.MasterKey: without identities it loads the
		// environment's.
		return nil, errNoKey
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(ciphertext)), k.age...)
	if err != nil {
		return nil, errNoKey
	}
	return readDataKey(r)
}

func (k *keyring) decryptPGP(ciphertext []byte) ([]byte, error) {
	if len(k.pgp) == 0 {
		return nil, errNoKey
	}
	block, err := pgparmor.Decode(bytes.NewReader(ciphertext))
	if err != nil {
		return nil, errNoKey
	}
	md, err := openpgp.ReadMessage(block.Body, k.pgp, nil, nil)
	if err != nil || !md.IsEncrypted {
		return nil, errNoKey
	}
	return readDataKey(md.UnverifiedBody)
}

// readDataKey reads a data key to its end (where age and OpenPGP check
// its integrity), refusing anything longer than a data key: a compressed
// OpenPGP message could otherwise expand without bound.
func readDataKey(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, dataKeySize+1))
	if err != nil || len(data) != dataKeySize {
		return nil, errNoKey
	}
	return data, nil
}
