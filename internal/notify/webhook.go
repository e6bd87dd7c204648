package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
)

// webhook POSTs the event as JSON, signed when its Secret has an hmacKey.
type webhook struct {
	url *url.URL
	key []byte
}

// WebhookPayload is the body of a generic webhook's request: every field
// of the event, and Text, the rendered message.
type WebhookPayload struct {
	Event
	Text string `json:"text"`
}

func (w *webhook) send(ctx context.Context, client *http.Client, m Message) error {
	body, err := json.Marshal(WebhookPayload{Event: m.Event, Text: m.Text})
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(EventHeader, m.Event.Name)
	if len(w.key) > 0 {
		h.Set(SignatureHeader, Sign(w.key, body))
	}
	return post(ctx, client, w.url, body, h)
}

// Sign is the value of SignatureHeader for body and key: "sha256=" and the
// hex HMAC-SHA256.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature says, in constant time, whether signature (the value of
// SignatureHeader) is body's with key: what a receiver does before it
// trusts a request.
func VerifySignature(key, body []byte, signature string) bool {
	return hmac.Equal([]byte(signature), []byte(Sign(key, body)))
}
