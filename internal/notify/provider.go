package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Keys of a Notification's Secret.
const (
	// SecretHMACKey signs a webhook's body (HMAC-SHA256).
	SecretHMACKey = "hmacKey"
	// SecretToken authenticates to GitHub, GitLab, Gitea and Alertmanager.
	SecretToken = "token"
	// SecretAddress, when set, is the provider's URL instead of
	// spec.provider.url.
	SecretAddress = "address"
)

// Headers of a generic webhook's request.
const (
	// SignatureHeader holds "sha256=" and the hex HMAC-SHA256 of the body
	// with the Secret's hmacKey.
	SignatureHeader = "X-Flotilla-Signature"
	// EventHeader holds the event's name.
	EventHeader = "X-Flotilla-Event"
)

// Message is what a provider sends for one event: the event and its text
// (the Notification's template, or the default message).
type Message struct {
	Event Event
	Text  string
}

// provider sends a message somewhere over client.
type provider interface {
	send(ctx context.Context, client *http.Client, m Message) error
}

// ErrInvalidProvider says spec.provider or its Secret is incomplete.
var ErrInvalidProvider = errors.New("invalid provider")

// newProvider builds the provider of spec with the Secret's data (nil when
// the Notification names none). Its errors never hold the Secret's data
// nor a URL that came from it.
func newProvider(spec flotillav1.NotificationProvider, secret map[string][]byte) (provider, error) {
	raw := spec.URL
	if a := secret[SecretAddress]; len(a) > 0 {
		raw = string(bytes.TrimSpace(a))
	}
	token := string(bytes.TrimSpace(secret[SecretToken]))
	switch spec.Type {
	case flotillav1.ProviderWebhook:
		u, err := checkURL(raw, true)
		if err != nil {
			return nil, err
		}
		return &webhook{url: u, key: secret[SecretHMACKey]}, nil
	case flotillav1.ProviderSlack, flotillav1.ProviderTeams:
		u, err := checkURL(raw, spec.Type == flotillav1.ProviderTeams)
		if err != nil {
			return nil, err
		}
		return &chat{url: u, teams: spec.Type == flotillav1.ProviderTeams}, nil
	case flotillav1.ProviderGitHub, flotillav1.ProviderGitLab, flotillav1.ProviderGitea:
		if token == "" {
			return nil, fmt.Errorf("%w: %s needs a Secret with %q", ErrInvalidProvider, spec.Type, SecretToken)
		}
		var base *url.URL
		if raw != "" {
			u, err := checkURL(raw, false)
			if err != nil {
				return nil, err
			}
			base = u
		}
		return &commitStatus{kind: spec.Type, base: base, token: token}, nil
	case flotillav1.ProviderAlertmanager:
		u, err := checkURL(raw, false)
		if err != nil {
			return nil, err
		}
		return &alertmanager{url: u, token: token}, nil
	}
	return nil, fmt.Errorf("%w: unknown type %q", ErrInvalidProvider, cut(spec.Type, 32))
}

// maxResponse is how much of a provider's answer is read: enough for an
// error message, which is cut further.
const maxResponse = 4096

// statusError is a provider's refusal: its HTTP status and the start of
// its answer.
type statusError struct {
	host   string
	status int
	body   string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.host, e.status, http.StatusText(e.status))
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// retryable says whether a failed send may succeed when tried again: a
// network error, a 5xx, 408 or 429. Any other refusal (a bad token, a
// missing repository) stays one.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status >= 500 || se.status == http.StatusTooManyRequests || se.status == http.StatusRequestTimeout
	}
	return !errors.Is(err, ErrInvalidProvider) && !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrNotApplicable) &&
		!errors.Is(err, ErrAddressRefused) && !errors.Is(err, context.Canceled)
}

// post sends body to u with the headers, and reads a bounded answer: any
// 2xx is success. The error names the URL's scheme and host only, and
// never the request's headers.
func post(ctx context.Context, client *http.Client, u *url.URL, body []byte, header http.Header) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidURL, hostOf(u))
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flotilla-notification")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", hostOf(u), scrubURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &statusError{host: hostOf(u), status: resp.StatusCode, body: cut(printable(answer), 256)}
}

// scrubURLError takes the URL out of a client error: a *url.Error repeats
// the whole address, which may be a secret.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// printable keeps the printable ASCII of b, for an error message.
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c >= 0x20 && c < 0x7f:
			out = append(out, c)
		case c == '\n' || c == '\t' || c == '\r':
			out = append(out, ' ')
		}
	}
	return string(bytes.TrimSpace(out))
}
