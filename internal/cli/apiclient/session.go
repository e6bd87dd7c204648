package apiclient

import (
	"context"
	"net/http"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Settings answers what the login page needs: version, SSO, password login.
func (c *Client) Settings(ctx context.Context) (*wire.Settings, error) {
	var s wire.Settings
	return &s, c.call(ctx, request{method: http.MethodGet, path: "/api/v1/settings"}, &s)
}

// Login logs in with a local account and answers the session token.
func (c *Client) Login(ctx context.Context, username, password string) (*wire.Token, error) {
	var t wire.Token
	body := wire.LoginRequest{Username: username, Password: password}
	return &t, c.call(ctx, request{method: http.MethodPost, path: "/api/v1/session", body: body}, &t)
}

// Exchange trades the one-time code of a single sign-on for a token.
func (c *Client) Exchange(ctx context.Context, code string) (*wire.Token, error) {
	var t wire.Token
	body := wire.ExchangeRequest{Code: code}
	return &t, c.call(ctx, request{method: http.MethodPost, path: "/api/v1/session/exchange", body: body}, &t)
}

// Session describes the caller.
func (c *Client) Session(ctx context.Context) (*wire.Session, error) {
	var s wire.Session
	return &s, c.call(ctx, request{method: http.MethodGet, path: "/api/v1/session"}, &s)
}

// Logout revokes the session token.
func (c *Client) Logout(ctx context.Context) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/session"}, nil)
}

// SSOLoginURL is where a browser starts a single sign-on whose one-time
// code goes to callback.
func (c *Client) SSOLoginURL(callback string) string {
	return c.URL("/auth/login", map[string][]string{"cli": {callback}})
}

// ChangePassword changes the caller's local password. The server revokes
// the account's sessions and answers a new token for this one.
func (c *Client) ChangePassword(ctx context.Context, current, next string) (*wire.Token, error) {
	var t wire.Token
	body := wire.PasswordChange{CurrentPassword: current, NewPassword: next}
	return &t, c.call(ctx, request{method: http.MethodPut, path: "/api/v1/account/password", body: body}, &t)
}
