package auth

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// TestLogoutRevokes checks that a logout ends that session only, and that
// the revocation outlives the server.
func TestLogoutRevokes(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, nil)
	password := initialPassword(t, ns)
	first, _ := f.login(t, AdminAccount, password)
	second, _ := f.login(t, AdminAccount, password)
	if resp, body := f.do(t, "DELETE", "/api/v1/session", nil, bearerHeader(first)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if code := f.whoami(t, first); code != http.StatusUnauthorized {
		t.Errorf("after logout: %d, want 401", code)
	}
	if code := f.whoami(t, second); code != http.StatusOK {
		t.Errorf("another session after logout: %d, want 200", code)
	}
	restarted := f.restart(t)
	if code := restarted.whoami(t, first); code != http.StatusUnauthorized {
		t.Errorf("after logout and a restart: %d, want 401", code)
	}
	if code := restarted.whoami(t, second); code != http.StatusOK {
		t.Errorf("another session after a restart: %d, want 200", code)
	}
}

// TestPasswordChangeRevokes checks that a password change, through the API
// or straight in the hub, ends the account's sessions.
func TestPasswordChangeRevokes(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, nil)
	addAccount(t, ns, "alice", "", "first-password")
	one, _ := f.login(t, "alice", "first-password")
	two, _ := f.login(t, "alice", "first-password")
	resp, body := f.do(t, "PUT", "/api/v1/account/password",
		wire.PasswordChange{CurrentPassword: "wrong-password", NewPassword: "second-password"}, bearerHeader(one))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("change with a wrong current password: %d %s, want 401", resp.StatusCode, body)
	}
	resp, body = f.do(t, "PUT", "/api/v1/account/password",
		wire.PasswordChange{CurrentPassword: "first-password", NewPassword: "short"}, bearerHeader(one))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("change to a short password: %d %s, want 400", resp.StatusCode, body)
	}
	resp, body = f.do(t, "PUT", "/api/v1/account/password",
		wire.PasswordChange{CurrentPassword: "first-password", NewPassword: "second-password"}, bearerHeader(one))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("change: %d %s", resp.StatusCode, body)
	}
	three := tokenOf(t, body)
	for name, tok := range map[string]string{"the changing session": one, "another session": two} {
		if code := f.whoami(t, tok); code != http.StatusUnauthorized {
			t.Errorf("%s after a password change: %d, want 401", name, code)
		}
	}
	if code := f.whoami(t, three); code != http.StatusOK {
		t.Errorf("the session the change returned: %d, want 200", code)
	}
	if resp, _ := f.do(t, "POST", "/api/v1/session", wire.LoginRequest{Username: "alice", Password: "first-password"}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d, want 401", resp.StatusCode)
	}
	four, _ := f.login(t, "alice", "second-password")

	// The CLI's way: straight in the hub. A server sees it once its cache
	// is older than CacheTTL; a restarted one at once.
	if err := SetPassword(context.Background(), hub, ns, "alice", "third-password"); err != nil {
		t.Fatal(err)
	}
	restarted := f.restart(t)
	for name, tok := range map[string]string{"returned by the change": three, "logged in after": four} {
		if code := restarted.whoami(t, tok); code != http.StatusUnauthorized {
			t.Errorf("session %s, after a change in the hub: %d, want 401", name, code)
		}
	}
	mustNotContain(t, "the logs", f.logs.String()+restarted.logs.String(), "first-password", "second-password", "third-password")
}

func tokenOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `"token":"`)
	if i < 0 {
		t.Fatalf("no token in %s", body)
	}
	rest := body[i+len(`"token":"`):]
	return rest[:strings.Index(rest, `"`)]
}

// TestKeyRotation checks that after a rotation sessions signed with the
// previous key stay valid, new ones are signed with the new key, and
// removing the previous key ends the old sessions.
func TestKeyRotation(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, func(o *Options) { o.CacheTTL = 50 * time.Millisecond })
	password := initialPassword(t, ns)
	old, _ := f.login(t, AdminAccount, password)
	ctx := context.Background()
	rotate := func(change func(d map[string][]byte)) {
		t.Helper()
		if _, err := updateSecret(ctx, hub, ns, KeysSecret, func(d map[string][]byte) error { change(d); return nil }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // past the cache's TTL
	}
	rotate(func(d map[string][]byte) {
		d[previousKey], d[currentKey] = d[currentKey], []byte(strings.Repeat("n", 32)+"-the-new-key")
	})
	if code := f.whoami(t, old); code != http.StatusOK {
		t.Errorf("a session of the previous key after the rotation: %d, want 200", code)
	}
	fresh, _ := f.login(t, AdminAccount, password)
	if kid := headerKid(t, fresh); kid != keyID([]byte(strings.Repeat("n", 32)+"-the-new-key")) {
		t.Errorf("a new session is signed with key %s, want the new current key", kid)
	}
	rotate(func(d map[string][]byte) { delete(d, previousKey) })
	if code := f.whoami(t, old); code != http.StatusUnauthorized {
		t.Errorf("a session of the removed key: %d, want 401", code)
	}
	if code := f.whoami(t, fresh); code != http.StatusOK {
		t.Errorf("a session of the current key: %d, want 200", code)
	}
}

func headerKid(t *testing.T, tok string) string {
	t.Helper()
	var c claims
	tk, _, err := newUnverifiedParser().ParseUnverified(tok, &c)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tk.Header["kid"].(string)
	return kid
}

// TestCSRF checks that a write authenticated by the cookie needs the
// session's CSRF token in the header, and a bearer token needs none.
func TestCSRF(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, nil)
	token, resp := f.login(t, AdminAccount, initialPassword(t, ns))
	var csrf string
	for _, c := range resp.Cookies() {
		if c.Name == CSRFCookie {
			csrf = c.Value
		}
	}
	other, _ := f.login(t, AdminAccount, initialPassword(t, ns))
	otherCSRF := csrfOf(t, f, other)
	cookie := func(extra ...string) http.Header {
		h := http.Header{"Cookie": {SessionCookie + "=" + token + "; " + CSRFCookie + "=" + csrf}}
		if len(extra) > 0 {
			h.Set(CSRFHeader, extra[0])
		}
		return h
	}
	tests := []struct {
		name   string
		method string
		header http.Header
		want   int
	}{
		{"cookie read without the header", "GET", cookie(), 200},
		{"cookie write without the header", "POST", cookie(), 403},
		{"cookie write with another session's token", "POST", cookie(otherCSRF), 403},
		{"cookie write with the token", "POST", cookie(csrf), 200},
		{"cookie delete without the header", "DELETE", cookie(), 403},
		{"bearer write without the header", "POST", bearerHeader(token), 200},
	}
	for _, tt := range tests {
		if resp, body := f.do(t, tt.method, "/api/v1/whoami", nil, tt.header); resp.StatusCode != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, body, tt.want)
		}
	}
	if resp, _ := f.do(t, "DELETE", "/api/v1/session", nil, cookie()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout by cookie without the header: %d, want 403", resp.StatusCode)
	}
	if code := f.whoami(t, token); code != http.StatusOK {
		t.Errorf("the session after a refused logout: %d, want 200", code)
	}
	if resp, _ := f.do(t, "DELETE", "/api/v1/session", nil, cookie(csrf)); resp.StatusCode != http.StatusNoContent {
		t.Errorf("logout by cookie with the header: %d, want 204", resp.StatusCode)
	}
}

func csrfOf(t *testing.T, f *fixture, token string) string {
	t.Helper()
	p, err := f.svc.verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p.CSRFToken()
}

// TestLoginRateLimits checks the limits per user and per address under
// parallel attempts, across a restart, and after the window.
func TestLoginRateLimits(t *testing.T) {
	ns := namespace(t)
	now := time.Now()
	var clock sync.Mutex
	edit := func(o *Options) {
		o.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	}
	f := newFixture(t, ns, edit)
	addAccount(t, ns, "alice", "", "alice-password")
	count := func(f *fixture, users func(i int) string, n int) map[int]int {
		codes := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, _ := f.do(t, "POST", "/api/v1/session", wire.LoginRequest{Username: users(i), Password: "wrong-password"}, nil)
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Error("a 429 without Retry-After")
				}
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return codes
	}
	alice := func(int) string { return "alice" }
	if got := count(f, alice, 12); got[401] != 5 || got[429] != 7 {
		t.Errorf("12 parallel wrong passwords for one user: %v, want 5 401 and 7 429", got)
	}
	if resp, _ := f.do(t, "POST", "/api/v1/session", wire.LoginRequest{Username: "alice", Password: "alice-password"}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password while limited: %d, want 429", resp.StatusCode)
	}
	restarted := newFixture(t, ns, edit)
	if resp, _ := restarted.do(t, "POST", "/api/v1/session", wire.LoginRequest{Username: "alice", Password: "alice-password"}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password after a restart: %d, want 429", resp.StatusCode)
	}
	// The address has 5 failures; 15 more are allowed, from any user name.
	many := func(i int) string { return "user-" + string(rune('a'+i)) }
	if got := count(restarted, many, 25); got[401] != 15 || got[429] != 10 {
		t.Errorf("25 parallel logins of different users from one address: %v, want 15 401 and 10 429", got)
	}
	clock.Lock()
	now = now.Add(DefaultOptions().Limits.Window + time.Second)
	clock.Unlock()
	restarted.login(t, "alice", "alice-password")
}
