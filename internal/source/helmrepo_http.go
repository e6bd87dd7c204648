package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flotilla-dev/flotilla/internal/repourl"
)

// helmRepo is the URL of an index-based Helm repository that passed
// validation.
type helmRepo struct {
	// raw is the URL as given, to name the repository in errors.
	raw string
	// base is the URL with a trailing slash, which index.yaml and relative
	// chart URLs are resolved against, as Helm does.
	base *url.URL
	// key names the repository in cache keys: scheme and host lower-case,
	// default port and trailing slashes dropped.
	key string
}

// parseHelmRepoURL accepts https:// and http:// URLs without credentials,
// query or fragment. Unlike a git URL, the path may be empty: many Helm
// repositories sit at the root of their host.
func parseHelmRepoURL(raw string) (helmRepo, error) {
	fail := func(reason string) (helmRepo, error) { return helmRepo{}, invalidURL(raw, reason) }
	if err := checkURLChars(raw); err != nil {
		return fail(err.Error())
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Opaque != "":
		return fail("does not parse")
	case u.Scheme != schemeHTTPS && u.Scheme != schemeHTTP:
		return fail(fmt.Sprintf("scheme %q not allowed for a Helm repository (use https, http, or oci)", u.Scheme))
	case u.User != nil:
		return fail("credentials in URLs are not allowed; pass them as credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return fail("query or fragment not allowed")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if err := checkHost(host); err != nil {
		return fail(err.Error())
	}
	if err := checkPort(u, port); err != nil {
		return fail(err.Error())
	}
	if err := checkPath(u.Path); err != nil {
		return fail(err.Error())
	}
	hostport := host
	if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	hostport = repourl.WithoutDefaultPort(u.Scheme, hostport+":"+port)
	base := *u
	base.Path = strings.TrimRight(u.Path, "/") + "/"
	base.RawPath = ""
	if u.RawPath != "" {
		base.RawPath = strings.TrimRight(u.RawPath, "/") + "/"
	}
	return helmRepo{
		raw:  raw,
		base: &base,
		key:  u.Scheme + "://" + hostport + "/" + strings.Trim(u.EscapedPath(), "/"),
	}, nil
}

// helmAuthorization returns the Authorization header the credentials ask
// for: basic authentication or a bearer token, never over plain http.
func helmAuthorization(scheme string, creds *Credentials) (string, error) {
	kind, err := creds.httpCredential(scheme)
	switch {
	case err != nil:
		return "", err
	case kind == basicCredential:
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)), nil
	case kind == bearerCredential:
		return "Bearer " + creds.BearerToken, nil
	}
	return "", nil
}

// helmGet sends a GET and returns a response of status 200, or an *Error
// whose Kind says why not; notFound is the Kind of a 404. authz is sent only
// to the repository's own origin: a redirect elsewhere is refused by the
// client, and Go's client drops the header when a redirect changes host.
func (p *chartPrep) helmGet(ctx context.Context, client *http.Client, u *url.URL, notFound error) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Kind: ErrRegistry, Detail: "cannot make the request", cause: err}
	}
	req.Header.Set("User-Agent", "flotilla")
	if p.authz != "" && repourl.SameOrigin(u.String(), p.repo.base.String()) {
		req.Header.Set("Authorization", p.authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, helmTransportError(ctx, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	_ = resp.Body.Close()
	return nil, helmStatusError(resp.StatusCode, p.authz != "", notFound)
}

// helmStatusError maps an HTTP status other than 200 to a Kind. What the
// server wrote is not repeated: it could echo anything.
func helmStatusError(code int, withCreds bool, notFound error) error {
	status := fmt.Sprintf("HTTP %d", code)
	switch {
	case (code == http.StatusUnauthorized || code == http.StatusForbidden) && withCreds:
		return &Error{Kind: ErrAuth, Detail: "the server refused the credentials (" + status + ")"}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &Error{Kind: ErrAuth, Detail: "the server asks for credentials (" + status + ")"}
	case code == http.StatusNotFound:
		return &Error{Kind: notFound, Detail: "not found (" + status + ")"}
	case code == http.StatusTooManyRequests || code >= 500:
		return &Error{Kind: ErrUnreachable, Detail: "the server failed (" + status + ")"}
	}
	return &Error{Kind: ErrRegistry, Detail: "unexpected " + status}
}

// helmTransportError maps a failed exchange to a Kind: an untrusted
// certificate, a time limit, or an unreachable server.
func helmTransportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx)
	}
	var own *Error
	if errors.As(err, &own) {
		return own // the address rule refused the connection
	}
	var (
		uerr     *url.Error
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		netErr   net.Error
	)
	detail := err.Error()
	if errors.As(err, &uerr) {
		detail = uerr.Err.Error() // without the method and URL
	}
	detail = shortText(detail)
	switch {
	case errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid):
		return &Error{Kind: ErrHostVerification, Detail: detail, cause: err}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Kind: ErrTimeout, Detail: detail, cause: err}
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Error{Kind: ErrUnreachable, Detail: detail, cause: err}
	}
	// A refused redirect, a malformed response.
	return &Error{Kind: ErrRegistry, Detail: detail, cause: err}
}

// readError maps a failure while reading a response body.
func readError(ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return helmTransportError(ctx, err)
}

// errHelmTimeLimit is the cause of a context that passed one of the
// Client's own time limits, as opposed to the caller's.
var errHelmTimeLimit = errors.New("time limit")

// withTimeLimit bounds ctx by one of the Client's time limits.
func withTimeLimit(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, errHelmTimeLimit)
}

// ctxError explains why ctx ended: a time limit of the Client (ErrTimeout),
// or the caller giving up (its context's error, as the Kind).
func ctxError(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), errHelmTimeLimit) {
		return &Error{Kind: ErrTimeout, Detail: "the repository did not answer in time"}
	}
	return &Error{Kind: ctx.Err(), Detail: "cancelled", cause: context.Cause(ctx)}
}
