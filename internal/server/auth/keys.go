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
	return hex.EncodeToString(sum[:8])
}

// keyStore caches KeysSecret.
type keyStore struct {
	hub       client.Client
	namespace string
	ttl       time.Duration
	now       func() time.Time

	mu     sync.Mutex
	ring   *keyring
	read   time.Time
	forced time.Time
}

// get returns the keys, read again when older than the TTL, or when force
// is set (an unknown key id: the keys may have been rotated) at most once a
// second.
func (k *keyStore) get(ctx context.Context, force bool) (*keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	fresh := k.ring != nil && now.Sub(k.read) < k.ttl
	if fresh && (!force || now.Sub(k.forced) < time.Second) {
		return k.ring, nil
	}
	if force {
		k.forced = now
	}
	ring, err := k.load(ctx)
	if err != nil {
		if k.ring != nil {
			return k.ring, nil // keep serving with the keys last read
		}
		return nil, err
	}
	k.ring, k.read = ring, now
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
