package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	orasauth "oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// ociError turns any error into an *Error of an OCI request.
func ociError(err error, kind ociKind, op, url, revision string) *Error {
	e := asError(err, op, url, revision)
	e.Type = kind.errType
	if errors.Is(e.Kind, ErrGit) {
		e.Kind = ErrRegistry
	}
	return e
}

// errOCITimeout is the cause of a context that ran past ResolveTimeout or
// FetchTimeout, to tell it from the caller's own deadline.
var errOCITimeout = errors.New("registry time limit")

// failure turns an error of oras or of the network into an *Error with a
// kind and a detail that holds no credential. ctx is the context the
// request ran in, to tell its time limit from the caller's cancellation.
func (r *ociRepo) failure(ctx context.Context, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(context.Cause(ctx), errOCITimeout):
		return &Error{Kind: ErrTimeout, Detail: "the registry did not answer in time"}
	case ctx.Err() != nil:
		return &Error{Kind: ctx.Err(), Detail: "cancelled", cause: err}
	}
	return &Error{Kind: ociKindOf(err), Detail: r.detail(err)}
}

// ociKindOf classifies an error of oras or of the network.
func ociKindOf(err error) error {
	var (
		resp       *errcode.ErrorResponse
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		tlsVerify  *tls.CertificateVerificationError
		urlFailure *url.Error
	)
	switch {
	case errors.As(err, &resp):
		return statusKind(resp)
	case errors.Is(err, orasauth.ErrBasicCredentialNotFound), errors.Is(err, errBasicWanted):
		return ErrAuth
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &tlsVerify):
		return ErrHostVerification
	case isOCIContentError(err):
		return ErrRegistry
	case errors.As(err, &urlFailure):
		return ErrUnreachable
	}
	return ErrRegistry
}

func statusKind(resp *errcode.ErrorResponse) error {
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return ErrAuth
	case resp.StatusCode == http.StatusNotFound && hasCode(resp, errcode.ErrorCodeNameUnknown):
		return ErrRepositoryNotFound
	case resp.StatusCode == http.StatusNotFound && hasCode(resp, errcode.ErrorCodeManifestUnknown):
		return ErrRevisionNotFound
	case resp.StatusCode == http.StatusNotFound:
		return ErrRepositoryNotFound
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return ErrUnreachable
	}
	return ErrRegistry
}

func hasCode(resp *errcode.ErrorResponse, code string) bool {
	for _, e := range resp.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// detail says what failed without repeating what the registry sent beyond
// its status and error codes, and without a credential.
func (r *ociRepo) detail(err error) string {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		s := fmt.Sprintf("the registry answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		var codes []string
		for _, e := range resp.Errors {
			if code := strings.Map(codeRune, e.Code); code != "" && len(codes) < 3 {
				codes = append(codes, code)
			}
		}
		if len(codes) > 0 {
			s += " (" + strings.Join(codes, ", ") + ")"
		}
		return s
	}
	if isOCIContentError(err) {
		return "the registry sent content that does not match its digest or size: " + scrub(err.Error(), r.secrets)
	}
	return scrub(err.Error(), r.secrets)
}

// codeRune keeps the characters of a distribution error code.
func codeRune(c rune) rune {
	if c >= 'A' && c <= 'Z' || c == '_' {
		return c
	}
	return -1
}
