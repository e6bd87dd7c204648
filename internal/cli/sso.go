package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
	"unicode"

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

// ssoExchangeWait bounds how long the browser's page waits for the
// terminal to trade the code: the page says whether the login succeeded.
const ssoExchangeWait = time.Minute

// ssoResult is what the browser brought back to the loopback listener.
type ssoResult struct {
	code string
	err  error
	// outcome takes the result of trading code (nil: logged in), for the
	// browser's page; buffered.
	outcome chan error
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
	// Shutdown lets the callback finish the browser's page first.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
	}()

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
		tok, err := c.Exchange(ctx, r.code)
		r.outcome <- err
		return tok, err
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
	var answered atomic.Bool
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
		if !answered.CompareAndSwap(false, true) { // a second request: the first one counts
			http.Error(w, "this login is already done", http.StatusConflict)
			return
		}
		if res.err != nil {
			// The page goes out before the result: the CLI ends once it
			// has the result.
			ssoPage(w, res.err)
			results <- res
			return
		}
		// A code: the page says whether the terminal's exchange of it
		// succeeded. The CLI waits for this handler before it ends.
		res.outcome = make(chan error, 1)
		results <- res
		var err error
		select {
		case err = <-res.outcome:
		case <-time.After(ssoExchangeWait):
			err = errors.New("the terminal did not finish the login in time")
		case <-r.Context().Done():
			return
		}
		ssoPage(w, err)
	})
	return mux
}

// ssoPage tells the browser plainly whether the login succeeded (err nil)
// or was refused, and why.
func ssoPage(w http.ResponseWriter, err error) {
	msg := "You are logged in to Flotilla. You may close this window and go back to the terminal."
	if err != nil {
		msg = "The login was refused: " + printableParam(err.Error()) + ". Go back to the terminal."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, "<!doctype html><title>Flotilla</title><p>"+html.EscapeString(msg)+"</p>")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// printableParam keeps a query parameter from the browser short and
// printable before it reaches the terminal.
func printableParam(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if len(out) >= 512 {
			break
		}
		// unicode.IsPrint drops the C0 and C1 controls, DEL, and the
		// format characters that reorder a line (U+202E).
		if unicode.IsPrint(r) {
			out = append(out, r)
		}
	}
	return string(out)
}
