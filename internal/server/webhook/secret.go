package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub's older X-Hub-Signature is HMAC-SHA1; accepted only when no SHA-256 signature is sent
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The keys of the webhook Secret, one per provider. Gitea, Forgejo and
// Gogs share one; Bitbucket Cloud and Server share one.
const (
	KeyGitHub    = "github"
	KeyGitLab    = "gitlab"
	KeyGitea     = "gitea"
	KeyBitbucket = "bitbucket"
	KeyOCI       = "oci"
)

// errUnauthenticated is a missing or wrong signature or token, or a
// provider the Secret has no key for. The response never says which.
var errUnauthenticated = errors.New("the signature or token does not match the webhook secret")

// errSecretUnavailable is a failure to read the Secret (not its absence).
var errSecretUnavailable = errors.New("the webhook secret cannot be read")

// secrets reads the webhook Secret, keeping what it read for ttl so that a
// storm of requests reads it once.
type secrets struct {
	hub       client.Reader
	key       client.ObjectKey
	ttl       time.Duration
	mu        sync.Mutex
	data      map[string][]byte
	readAt    time.Time
	haveCache bool
}

// get returns the value of one key; empty when the Secret or the key is
// missing.
func (s *secrets) get(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.haveCache || time.Since(s.readAt) > s.ttl {
		var sec corev1.Secret
		err := s.hub.Get(ctx, s.key, &sec)
		switch {
		case apierrors.IsNotFound(err):
			s.data = nil
		case err != nil:
			return nil, fmt.Errorf("%w: Secret %s: %w", errSecretUnavailable, s.key, err)
		default:
			s.data = sec.Data
		}
		s.readAt, s.haveCache = time.Now(), true
	}
	// A value written with a trailing newline (kubectl create secret
	// --from-file) is the value without it.
	return bytes.TrimSpace(s.data[key]), nil
}

// verifyHMAC checks sig, the hex digest of the body's HMAC under secret,
// with an optional "sha256=" or "sha1=" prefix naming the hash.
func verifyHMAC(newHash func() hash.Hash, prefix string, secret, body []byte, sig string) error {
	if len(secret) == 0 {
		return errUnauthenticated
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), prefix)
	if !ok {
		return errUnauthenticated
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return errUnauthenticated
	}
	m := hmac.New(newHash, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return errUnauthenticated
	}
	return nil
}

func verifySHA256(secret, body []byte, sig, prefix string) error {
	return verifyHMAC(sha256.New, prefix, secret, body, sig)
}

func verifySHA1(secret, body []byte, sig string) error {
	return verifyHMAC(sha1.New, "sha1=", secret, body, sig)
}

// verifyToken compares a token in constant time; comparing digests keeps
// the time independent of the lengths too.
func verifyToken(secret []byte, token string) error {
	if len(secret) == 0 || token == "" {
		return errUnauthenticated
	}
	want := sha256.Sum256(secret)
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return errUnauthenticated
	}
	return nil
}
