package source

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
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
// given, no proxy from the environment, and redirects followed only to the
// same host (a redirect elsewhere would carry credentials or content from a
// server the Application did not name). It never adds credentials itself:
// callers set headers per request.
func httpClient(creds *Credentials) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if creds != nil && len(creds.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(creds.CACert) {
			return nil, credentialsError("caCert holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
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
			if req.URL.Host != via[0].URL.Host {
				return errors.New("redirect to another host refused: " + req.URL.Host)
			}
			return nil
		},
	}, nil
}
