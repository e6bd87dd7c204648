package live

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strings"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Redaction of free text (event messages, pod logs): the values of the
// Application's own Secrets, read live, are replaced by SecretMask wherever
// they appear, as they are and base64-encoded, whole and line by line (a
// key's PEM block spans lines). Values shorter than minSecretLen are left:
// masking every "1" or "yes" of a log would hide the log, not a secret.
const (
	minSecretLen = 4
	// maxSecrets is how many of the Application's Secrets are read for it.
	maxSecrets = 50
)

// redactor masks known secret values in text. The zero value masks
// nothing.
type redactor struct {
	replacer *strings.Replacer
}

func (r redactor) mask(s string) string {
	if r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// redactor reads the Application's managed Secrets in c and returns what
// masks their values. A Secret that cannot be read adds nothing: it cannot
// be in any output either, as every output is read afterwards.
func (r *Reader) redactor(ctx context.Context, c *clients, app *flotillav1.Application) redactor {
	var values []string
	n := 0
	for _, res := range app.Status.Resources {
		if res.Group != "" || res.Kind != "Secret" || n == maxSecrets {
			continue
		}
		n++
		obj, err := c.get(ctx, wire.ObjectRef{Version: "v1", Kind: "Secret", Namespace: res.Namespace, Name: res.Name})
		if err != nil {
			continue
		}
		data, _ := obj.Object["data"].(map[string]any)
		for _, v := range data {
			enc, _ := v.(string)
			dec, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				continue
			}
			values = append(values, enc, string(dec))
			values = append(values, strings.Split(string(dec), "\n")...)
		}
	}
	return newRedactor(values)
}

func newRedactor(values []string) redactor {
	seen := map[string]bool{}
	var tokens []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) >= minSecretLen && !seen[v] {
			seen[v] = true
			tokens = append(tokens, v)
		}
	}
	if len(tokens) == 0 {
		return redactor{}
	}
	// Longest first: a value that holds another is masked whole.
	slices.SortFunc(tokens, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(tokens))
	for _, t := range tokens {
		pairs = append(pairs, t, SecretMask)
	}
	return redactor{replacer: strings.NewReplacer(pairs...)}
}
