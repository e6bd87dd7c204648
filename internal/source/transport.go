package source

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"time"
)

// httpTimeouts bound the parts of one HTTP exchange with a registry or a
// Helm repository; the caller's context bounds the whole.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
	maxRedirects          = 5
)

// httpClient returns a client for OCI registries and Helm repositories:
// TLS 1.2 or newer, trusting creds.CACert instead of the system's roots when
// given, no proxy from the environment, and at most maxRedirects redirects,
// never from https to plain http. Every connection, the first and those
// of redirects, goes through the Client's address rule (dialContext) on the
// address it really connects to. A redirect to another host is followed,
// as registries send layers and chart archives to a CDN or object store:
// the Authorization header is dropped on the way to any other host or
// port, and what arrives is checked against its digest. It never
// adds credentials itself: callers set headers per request.
func (c *Client) httpClient(creds *Credentials) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if creds != nil && len(creds.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(creds.CACert) {
			return nil, credentialsError("caCert holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           c.dialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && via[0].URL.Scheme == "https" {
				return errors.New("redirect from https to plain http refused: " + req.URL.Host)
			}
			if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
				// net/http keeps the header for the same host name on
				// another port; credentials are for the one origin.
				req.Header.Del("Authorization")
			}
			return nil
		},
	}, nil
}
