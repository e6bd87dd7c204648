package cli

import (
	"cmp"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pkg/browser"
	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// ssoTimeout bounds how long login waits for the browser to come back.
const ssoTimeout = 5 * time.Minute

// maxCodeBytes bounds the one-time code the browser brings back (a signed
// token that carries the user's groups).
const maxCodeBytes = 16 << 10

// ssoResult is what the browser brought back to the loopback listener.
type ssoResult struct {
	code string
	err  error
}

// ssoLogin runs the CLI's single sign-on: a listener on a loopback port
// receives the one-time code the server hands out after the OpenID
// provider's login; the code is traded for a token. The code is good for
// one exchange within a minute, so it is worth nothing once used.
func (o *loginOptions) ssoLogin(cmd *cobra.Command, c *apiclient.Client, s *wire.Settings) (*wire.Token, error) {
	if !s.SSO.Enabled {
		return nil, fmt.Errorf("%s has no single sign-on configured: log in with --username", c.Server())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback for the login's callback: %w", err)
	}
	results := make(chan ssoResult, 1)
	srv := &http.Server{Handler: ssoCallback(results), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	callback := fmt.Sprintf("http://%s/callback", ln.Addr())
	loginURL := c.SSOLoginURL(callback)
	errOut := cmd.ErrOrStderr()
	if o.noBrowser || browser.OpenURL(loginURL) != nil {
		fmt.Fprintf(errOut, "Open this address in a browser to log in to %s:\n\n  %s\n\n", c.Server(), loginURL)
	} else {
		fmt.Fprintf(errOut, "Logging in to %s through %s in the browser...\n", c.Server(), nameOr(s.SSO.Name, "single sign-on"))
	}
	ctx := cmd.Context()
	select {
	case r := <-results:
		if r.err != nil {
			return nil, r.err
		}
		return c.Exchange(ctx, r.code)
	case <-time.After(ssoTimeout):
		return nil, fmt.Errorf("no login came back within %s", ssoTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ssoCallback serves /callback once: the query's code (or error) goes to
// results, and the browser is told to go back to the terminal.
func ssoCallback(results chan<- ssoResult) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		res := ssoResult{code: q.Get("code")}
		switch {
		case q.Get("error") != "":
			// The server names the cause (an expired ID token, a
			// refusal by the provider ...) in the description.
			res.err = fmt.Errorf("the login failed: %s", printableParam(cmp.Or(q.Get("error_description"), q.Get("error"))))
		case res.code == "" || len(res.code) > maxCodeBytes:
			res.err = errors.New("single sign-on came back without a code")
		}
		select {
		case results <- res:
		default: // a second request: the first one counts
			http.Error(w, "this login is already done", http.StatusConflict)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		msg := "You are logged in. You may close this window and go back to the terminal."
		if res.err != nil {
			msg = res.err.Error()
		}
		_, _ = io.WriteString(w, "<!doctype html><title>Flotilla</title><p>"+html.EscapeString(msg)+"</p>")
	})
	return mux
}

// printableParam keeps a query parameter from the browser short and
// printable before it reaches the terminal.
func printableParam(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if len(out) >= 512 {
			break
		}
		if r >= 0x20 && r != 0x7f {
			out = append(out, r)
		}
	}
	return string(out)
}
