package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The keys of KeysSecret. To rotate, move "current" to "previous" and put
// a new random key (32 bytes or more) in "current": sessions signed with
// either verify; new ones are signed with "current". Removing "previous"
// ends the sessions it signed.
const (
	currentKey  = "current"
	previousKey = "previous"
	minKeyBytes = 32
)

// keyring is the signing keys by key id.
type keyring struct {
	currentID string
	keys      map[string][]byte
}

func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("flotilla-session-key\x00"), key...))
	return hex.EncodeToString(sum[:keyIDBytes])
}

// keyIDBytes is the length of a key id, before hex encoding.
const keyIDBytes = 8

// wellFormedKeyID says whether kid could be a key id of keyID: a token
// naming anything else cannot be one of ours after a rotation either, so
// it never causes a read of the keys.
func wellFormedKeyID(kid string) bool {
	b, err := hex.DecodeString(kid)
	return err == nil && len(b) == keyIDBytes && kid == hex.EncodeToString(b)
}

// minKeyReload is the least time between two reads of KeysSecret that
// requests cause rather than the TTL: a token naming an unknown key id (the
// keys may have been rotated by another server), or a retry after a failed
// read. A flood of tokens with made-up key ids, or of requests while the
// hub fails, thus reads the hub at most once per minKeyReload.
const minKeyReload = time.Second

// keyStore caches KeysSecret.
type keyStore struct {
	hub       client.Client
	namespace string
	ttl       time.Duration
	now       func() time.Time

	mu   sync.Mutex
	ring *keyring
	// read is when ring was read; tried when the hub was last asked;
	// err is what it answered then, when that failed.
	read  time.Time
	tried time.Time
	err   error
}

// get returns the keys, read again when older than the TTL, or when force
// is set (an unknown key id) and the last read is minKeyReload old. A
// failed read is not tried again for minKeyReload either: meanwhile the
// keys last read serve (or, before any was read, the error).
func (k *keyStore) get(ctx context.Context, force bool) (*keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	stale := k.ring == nil || now.Sub(k.read) >= k.ttl
	recent := !k.tried.IsZero() && now.Sub(k.tried) < minKeyReload
	if recent && (k.err != nil || !stale) || !stale && !force {
		if k.ring == nil {
			return nil, k.err
		}
		return k.ring, nil
	}
	k.tried = now
	ring, err := k.load(ctx)
	if err != nil {
		k.err = err
		if k.ring != nil {
			return k.ring, nil // keep serving with the keys last read
		}
		return nil, err
	}
	k.ring, k.read, k.err = ring, now, nil
	return ring, nil
}

// load reads KeysSecret, creating the current key when there is none.
func (k *keyStore) load(ctx context.Context) (*keyring, error) {
	data, err := readSecret(ctx, k.hub, k.namespace, KeysSecret)
	if err != nil {
		return nil, err
	}
	if len(data[currentKey]) == 0 {
		data, err = updateSecret(ctx, k.hub, k.namespace, KeysSecret, func(d map[string][]byte) error {
			if len(d[currentKey]) > 0 {
				return nil
			}
			key := make([]byte, minKeyBytes)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			d[currentKey] = key
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return parseKeyring(data)
}

func parseKeyring(data map[string][]byte) (*keyring, error) {
	ring := &keyring{keys: map[string][]byte{}}
	for _, name := range []string{currentKey, previousKey} {
		key := data[name]
		if len(key) == 0 && name == previousKey {
			continue
		}
		if len(key) < minKeyBytes {
			return nil, fmt.Errorf("session keys %s: %q has %d bytes, want at least %d", KeysSecret, name, len(key), minKeyBytes)
		}
		id := keyID(key)
		ring.keys[id] = key
		if name == currentKey {
			ring.currentID = id
		}
	}
	return ring, nil
}
