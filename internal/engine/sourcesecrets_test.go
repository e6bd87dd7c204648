package engine

import (
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/source"
)

// TestCosignEntry: the entries of a cosign verification Secret are sorted
// into keys and keyless trust by name and content; an entry mixing both is
// refused without quoting it.
func TestCosignEntry(t *testing.T) {
	const (
		key  = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
		cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	)
	v := &source.Verification{Provider: source.VerifyCosign}
	for name, data := range map[string]string{
		"cosign.pub":       key,
		"fulcio.crt":       cert,
		"rekor.pub":        key,
		"ctlog.pub":        key,
		"identity.issuer":  " https://issuer.example \n",
		"identity.subject": "alice@example\\.com\n",
	} {
		if err := cosignEntry(v, name, []byte(data)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(v.Keys) != 1 || string(v.Keys[0]) != key {
		t.Errorf("keys %q, want only cosign.pub's", v.Keys)
	}
	k := v.Keyless
	if k == nil || !strings.Contains(string(k.Roots), "CERTIFICATE") || string(k.RekorKeys) != key || string(k.CTLogKeys) != key {
		t.Fatalf("keyless trust %+v, want the certificate, rekor.pub and ctlog.pub", k)
	}
	if k.Issuer != "https://issuer.example" || k.Subject != `alice@example\.com` {
		t.Errorf("identity %q %q, want the trimmed entries", k.Issuer, k.Subject)
	}

	err := cosignEntry(&source.Verification{}, "both.pem", []byte(cert+key))
	if err == nil || !strings.Contains(err.Error(), "both.pem") || strings.Contains(err.Error(), "MIIB") {
		t.Errorf("a mixed entry: %v, want an error naming the entry and not its content", err)
	}
}
