package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/internal/source"
)

// AddressRule decides which addresses a provider may be sent to: the
// controller's rule for repositories (source.AddressRule).
type AddressRule = source.AddressRule

// ErrAddressRefused says a provider's address is one the rule refuses.
var ErrAddressRefused = source.ErrAddressRefused

// requestTimeout bounds one request to a provider, response included.
const requestTimeout = 10 * time.Second

// newHTTPClient is the client of every provider: no proxy from the
// environment that could reach around the rule, every connection checked,
// no redirect followed (a webhook's answer is its status), and a time
// limit per request.
func newHTTPClient(rule AddressRule) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: rule.Control}
	t := &http.Transport{
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ErrInvalidURL says a provider URL is not one Flotilla sends to.
var ErrInvalidURL = errors.New("invalid provider URL")

// checkURL accepts an absolute http or https URL without userinfo, query
// or fragment for everything but webhooks; the error never repeats the URL
// (a Slack address is a secret), only what is wrong with it.
func checkURL(raw string, allowQuery bool) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if len(raw) > 2048 {
		return nil, fmt.Errorf("%w: longer than 2048 bytes", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", ErrInvalidURL)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: scheme %q, want http or https", ErrInvalidURL, cut(u.Scheme, 16))
	case u.Host == "":
		return nil, fmt.Errorf("%w: no host", ErrInvalidURL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: userinfo is not allowed: put credentials in the Secret", ErrInvalidURL)
	case u.Fragment != "":
		return nil, fmt.Errorf("%w: a fragment is not allowed", ErrInvalidURL)
	case u.RawQuery != "" && !allowQuery:
		return nil, fmt.Errorf("%w: a query is not allowed", ErrInvalidURL)
	case strings.ContainsAny(raw, " \t\r\n"):
		return nil, fmt.Errorf("%w: white space", ErrInvalidURL)
	}
	return u, nil
}

// refusePlainHTTP refuses to send provider's token to u over plain http,
// where it would cross the network in the clear: a port forwarded to this
// machine (a loopback address) is the one place it may go. Called where a
// request that carries a token is built, whatever the URL came from (the
// Notification, its Secret or a source's URL). The error names the provider
// and the address it would dial, never the token nor u's path.
func refusePlainHTTP(provider string, u *url.URL) error {
	if u.Scheme != "http" || isLoopbackHost(u.Hostname()) {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return fmt.Errorf("provider %s: %w: refusing to send a token over plain http to http://%s; use https",
		provider, ErrInvalidURL, net.JoinHostPort(u.Hostname(), port))
}

// isLoopbackHost says whether host is localhost or a loopback IP address
// (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOf is a URL's host for messages: the address of a Slack or Teams
// webhook is a secret, its host is not.
func hostOf(u *url.URL) string { return u.Scheme + "://" + u.Host }

// withTimeout is ctx bounded by requestTimeout.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, requestTimeout)
}
