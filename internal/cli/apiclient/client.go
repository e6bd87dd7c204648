package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Bounds on what the client reads from a server.
const (
	// MaxBodyBytes bounds a JSON answer (a page of 1,000 Applications fits).
	MaxBodyBytes = 64 << 20
	// maxErrorBytes bounds an error answer.
	maxErrorBytes = 64 << 10
)

// Options configure a Client.
type Options struct {
	// Server is the base URL, like https://flotilla.example.com.
	Server string
	// Token is the session token sent as a bearer token; empty sends none.
	Token string
	// InsecureSkipTLSVerify accepts any server certificate.
	InsecureSkipTLSVerify bool
	// CAData is PEM of the authorities to trust besides the system's.
	CAData []byte
	// Timeout bounds each request that is not a stream (default 60s).
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Client calls one Flotilla server.
type Client struct {
	base    *url.URL
	token   string
	agent   string
	timeout time.Duration
	http    *http.Client
}

// New makes a client of opts.Server.
func New(opts Options) (*Client, error) {
	base, err := ParseServer(opts.Server)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipTLSVerify} //nolint:gosec // the user asked for it
	if len(opts.CAData) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(opts.CAData) {
			return nil, errors.New("the certificate authority holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.ForceAttemptHTTP2 = true
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	return &Client{
		base: base, token: opts.Token, agent: opts.UserAgent, timeout: timeout,
		// Redirects are not followed: the API answers none, and a redirect
		// would carry the bearer token to another place.
		http: &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}, nil
}

// ParseServer reads a server address: a URL, or a host[:port] taken as https.
func ParseServer(server string) (*url.URL, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return nil, errors.New("no server given")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", server, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("server %q: the scheme must be https or http", server)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server %q: want a URL like https://host[:port][/path]", server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// Server is the base URL of the server.
func (c *Client) Server() string { return c.base.String() }

// URL is the address of path (with its query) on the server.
func (c *Client) URL(path string, query url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	return u.String()
}

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// stream leaves the request without the client's timeout.
	stream bool
	accept string
}

// send makes the request and answers the response when its status is 2xx;
// else the API's error. The caller closes the body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, context.CancelFunc, error) {
	cancel := context.CancelFunc(func() {})
	if !r.stream {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("encode the request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.URL(r.path, r.query), body)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", cmpOr(r.accept, "application/json"))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		if ctxErr := ctx.Err(); ctxErr != nil && !r.stream && errors.Is(ctxErr, context.DeadlineExceeded) {
			return nil, nil, fmt.Errorf("%s %s: no answer from %s within %s", r.method, r.path, c.Server(), c.timeout)
		}
		return nil, nil, transportError(c.Server(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer cancel()
		defer func() { _ = resp.Body.Close() }()
		return nil, nil, readError(resp)
	}
	return resp, cancel, nil
}

// readError reads an error answer, bounded.
func readError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	e := &Error{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	var body wire.Error
	if json.Unmarshal(data, &body) == nil && body.Code != "" {
		e.Code, e.Message = body.Code, printable(body.Message, 1024)
	} else {
		e.Code = codeOfStatus(resp.StatusCode)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Message = fmt.Sprintf("the server answered a redirect (%d); is %s the address of a Flotilla server?", resp.StatusCode, resp.Request.URL.Host)
	}
	return e
}

// call sends a JSON request and decodes a JSON answer into out (nil for
// none).
func (c *Client) call(ctx context.Context, r request, out any) error {
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer cancel()
	defer func() { _ = resp.Body.Close() }()
	return decodeBody(resp.Body, r, out)
}

func decodeBody(body io.Reader, r request, out any) error {
	data, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", r.method, r.path, err)
	}
	if len(data) > MaxBodyBytes {
		return fmt.Errorf("%s %s: the answer is larger than %d MiB", r.method, r.path, MaxBodyBytes>>20)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what Flotilla's API sends: %w", r.method, r.path, err)
	}
	return nil
}

// printable keeps a server's message short and on one line.
func printable(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
