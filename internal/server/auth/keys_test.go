package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// keyReads wraps the hub, counting the reads of KeysSecret and failing
// them while failing is set (the one injected error).
type keyReads struct {
	client.Client
	reads   atomic.Int32
	failing atomic.Bool
}

func (h *keyReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if key.Name == KeysSecret {
		h.reads.Add(1)
		if h.failing.Load() {
			return errors.New("injected: the hub is unavailable")
		}
	}
	return h.Client.Get(ctx, key, obj, opts...)
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// forgedToken is a session token signed by a random key under kid.
func forgedToken(t *testing.T, kid string) string {
	t.Helper()
	key := make([]byte, minKeyBytes)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: AdminAccount, ID: "x"})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomKeyID(t *testing.T) string {
	t.Helper()
	b := make([]byte, keyIDBytes)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestUnknownKeyIDFlood: tokens naming made-up key ids, however many,
// read the keys from the hub at most once per minKeyReload, and ids that
// cannot be ours never; so do requests while the hub fails, which are
// served with the keys last read. A rotation by another server is still
// seen through the forced read.
func TestUnknownKeyIDFlood(t *testing.T) {
	ns := namespace(t)
	counted := &keyReads{Client: hub}
	clock := &testClock{t: time.Now()}
	edit := func(o *Options) { o.Hub, o.Now, o.CacheTTL, o.Issuer = counted, clock.now, time.Hour, "flotilla-"+ns }
	f := newFixture(t, ns, edit)
	good, _ := f.login(t, AdminAccount, initialPassword(t, ns))
	const flood = 200
	burst := func(what string, token func() string, want int) int32 {
		t.Helper()
		before := counted.reads.Load()
		for range flood {
			if code := f.whoami(t, token()); code != want {
				t.Fatalf("%s: %d, want %d", what, code, want)
			}
		}
		return counted.reads.Load() - before
	}

	clock.advance(2 * minKeyReload)
	if n := burst("made-up key ids", func() string { return forgedToken(t, randomKeyID(t)) }, http.StatusUnauthorized); n != 1 {
		t.Errorf("%d tokens with made-up key ids read the keys %d times, want once", flood, n)
	}
	clock.advance(minKeyReload / 2)
	if n := burst("made-up key ids, half a second later", func() string { return forgedToken(t, randomKeyID(t)) }, http.StatusUnauthorized); n != 0 {
		t.Errorf("made-up key ids within %v of the last read read the keys %d times, want 0", minKeyReload, n)
	}
	clock.advance(2 * minKeyReload)
	malformed := []string{"", "../keys", strings.Repeat("a", 2*keyIDBytes+2), strings.ToUpper(randomKeyID(t)), randomKeyID(t)[:2*keyIDBytes-1] + "g"}
	i := 0
	next := func() string { i++; return forgedToken(t, malformed[i%len(malformed)]) }
	if n := burst("malformed key ids", next, http.StatusUnauthorized); n != 0 {
		t.Errorf("key ids that cannot be ours read the keys %d times, want 0", n)
	}

	// Another server rotates the keys: its sessions verify here through
	// the forced read.
	if _, err := updateSecret(context.Background(), hub, ns, KeysSecret, func(d map[string][]byte) error {
		d[previousKey], d[currentKey] = d[currentKey], []byte(strings.Repeat("r", minKeyBytes))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	other := newFixture(t, ns, edit)
	rotated, _ := other.login(t, AdminAccount, initialPassword(t, ns))
	if kid := headerKid(t, rotated); kid != keyID([]byte(strings.Repeat("r", minKeyBytes))) {
		t.Fatalf("the other server signs with key %s, want the rotated one", kid)
	}
	if code := f.whoami(t, rotated); code != http.StatusOK {
		t.Errorf("a session signed with a key rotated in by another server: %d, want 200", code)
	}

	// The hub fails once the keys are stale: the keys last read still
	// serve, and the reads are retried at most once per minKeyReload.
	counted.failing.Store(true)
	clock.advance(2 * time.Hour)
	if n := burst("a good session while the hub fails", func() string { return good }, http.StatusOK); n != 1 {
		t.Errorf("%d requests while the hub fails read the keys %d times, want once", flood, n)
	}
	if n := burst("made-up key ids while the hub fails", func() string { return forgedToken(t, randomKeyID(t)) }, http.StatusUnauthorized); n != 0 {
		t.Errorf("made-up key ids right after a failed read read the keys %d times, want 0", n)
	}
	clock.advance(2 * minKeyReload)
	if n := burst("a good session while the hub still fails", func() string { return good }, http.StatusOK); n != 1 {
		t.Errorf("%d requests %v later read the keys %d times, want once", flood, 2*minKeyReload, n)
	}
	counted.failing.Store(false)
	clock.advance(2 * minKeyReload)
	if n := burst("a good session once the hub is back", func() string { return good }, http.StatusOK); n != 1 {
		t.Errorf("%d requests once the hub is back read the keys %d times, want once", flood, n)
	}
}
