package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// TestInitialAdmin checks that the first start gives admin a random
// password, stored as a bcrypt hash and shown once in its own Secret, and
// that a second start keeps it.
func TestInitialAdmin(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, nil)
	password := initialPassword(t, ns)
	if len(password) < 20 {
		t.Fatalf("initial password has %d characters, want at least 20", len(password))
	}
	var accounts corev1.Secret
	if err := hub.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: AccountsName}, &accounts); err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword(accounts.Data[AdminAccount], []byte(password)); err != nil {
		t.Fatalf("the stored admin hash does not match the initial password: %v", err)
	}
	newFixture(t, ns, nil)
	if again := initialPassword(t, ns); again != password {
		t.Error("a second start changed the initial password")
	}
	token, resp := f.login(t, AdminAccount, password)
	if code := f.whoami(t, token); code != http.StatusOK {
		t.Fatalf("whoami with the login's token: %d", code)
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		cookies[c.Name] = c
	}
	sc, cc := cookies[SessionCookie], cookies[CSRFCookie]
	if sc == nil || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Value != token {
		t.Errorf("session cookie = %+v, want HttpOnly, Secure, SameSite=Lax, the token", sc)
	}
	if cc == nil || cc.HttpOnly || !cc.Secure || cc.SameSite != http.SameSiteLaxMode || cc.Value == "" {
		t.Errorf("CSRF cookie = %+v, want readable, Secure, SameSite=Lax", cc)
	}
	_, body := f.do(t, "GET", "/api/v1/session", nil, bearerHeader(token))
	var sess wire.Session
	if err := json.Unmarshal([]byte(body), &sess); err != nil || sess.Username != AdminAccount || cc == nil || sess.CSRFToken != cc.Value {
		t.Errorf("GET /api/v1/session = %s, want admin and the CSRF cookie's token", body)
	}
	mustNotContain(t, "the logs", f.logs.String(), password)
}

// TestLoginRefusals checks wrong passwords, unknown users and accounts
// without a password: the same 401 for each.
func TestLoginRefusals(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, nil)
	addAccount(t, ns, "alice", "team-a, ops", "alice-password")
	_, err := hubMap{hub: hub, namespace: ns, name: AccountsName}.update(context.Background(), func(d map[string]string) error {
		d["nopass"] = ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []wire.LoginRequest{
		{Username: "alice", Password: "wrong-password"},
		{Username: "nobody", Password: "alice-password"},
		{Username: "nopass", Password: ""},
		{Username: "alice", Password: strings.Repeat("x", 100)},
	} {
		resp, body := f.do(t, "POST", "/api/v1/session", c, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, ErrBadCredentials.Error()) {
			t.Errorf("login %s: %d %s, want 401 %q", c.Username, resp.StatusCode, body, ErrBadCredentials)
		}
	}
	token, _ := f.login(t, "alice", "alice-password")
	_, body := f.do(t, "GET", "/api/v1/whoami", nil, bearerHeader(token))
	if !strings.Contains(body, `"groups":["team-a","ops"]`) {
		t.Errorf("alice's session = %s, want her groups", body)
	}
	mustNotContain(t, "the logs", f.logs.String(), "alice-password")
}

// TestTokensRefused checks the 401 of every kind of bad token.
func TestTokensRefused(t *testing.T) {
	ns := namespace(t)
	f := newFixture(t, ns, nil)
	good, _ := f.login(t, AdminAccount, initialPassword(t, ns))
	if code := f.whoami(t, good); code != http.StatusOK {
		t.Fatalf("a good token: %d", code)
	}
	ctx := context.Background()
	signed := func(edit func(*claims)) string {
		var c claims
		if err := f.svc.parse(ctx, good, audSession, &c); err != nil {
			t.Fatal(err)
		}
		edit(&c)
		tok, err := f.svc.sign(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	parts := strings.Split(good, ".")
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	noneParts := strings.Split(none, ".")
	unknownKey := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "admin"})
	unknownKey.Header["kid"] = keyID([]byte(strings.Repeat("k", 32)))
	unknown, _ := unknownKey.SignedString([]byte(strings.Repeat("k", 32)))
	tests := map[string]string{
		"no token":     "",
		"garbage":      "not-a-token",
		"tampered":     parts[0] + "." + tamper(parts[1]) + "." + parts[2],
		"alg none":     noneParts[0] + "." + parts[1] + ".",
		"expired":      signed(func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }),
		"wrong aud":    signed(func(c *claims) { c.Audience = jwt.ClaimStrings{audExchange} }),
		"other issuer": signed(func(c *claims) { c.Issuer = "https://elsewhere" }),
		"unknown key":  unknown,
		"other user":   signed(func(c *claims) { c.Subject = "alice" }),
		"sso session":  signed(func(c *claims) { c.Local, c.IDP = false, "https://idp.example.com" }),
		"too long":     strings.Repeat("a", maxTokenBytes+1),
	}
	for name, tok := range tests {
		if code := f.whoami(t, tok); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
}

// tamper changes one claim of a token's payload (base64url), keeping it
// well-formed: the admin's name becomes another's.
func tamper(payload string) string {
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(b), `"sub":"admin"`, `"sub":"root"`, 1)))
}
