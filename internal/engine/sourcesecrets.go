package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// SourceSecrets is what an Application's source needs from Secrets: how to
// reach it, whose signatures it must carry, and how to decrypt it. The
// controller and the server's diff read them alike, through SecretAccess.
type SourceSecrets struct {
	Credentials *source.Credentials
	// Charts are the credentials of spec.source.chartCredentials, in order.
	Charts     []ChartCredentials
	Verify     *source.Verification
	Decryption *render.Decryption
}

// ChartCredentials are the credentials of the chart repositories under URL.
type ChartCredentials struct {
	URL         string
	Credentials *source.Credentials
}

// SourceSecrets reads the Secrets src names (credentialsRef, verify and
// decryption), each only once a's rules allow it (see SecretAccess).
func (a SecretAccess) SourceSecrets(ctx context.Context, src flotillav1.ApplicationSource) (SourceSecrets, error) {
	var out SourceSecrets
	var err error
	if out.Credentials, err = a.Credentials(ctx, src.CredentialsRef); err != nil {
		return out, err
	}
	// Each Secret is read once, however many entries name it.
	read := map[string]*source.Credentials{}
	if src.CredentialsRef != nil {
		read[src.CredentialsRef.Name] = out.Credentials
	}
	for _, c := range src.ChartCredentials {
		creds, ok := read[c.SecretRef.Name]
		if !ok {
			if creds, err = a.Credentials(ctx, &c.SecretRef); err != nil {
				return out, err
			}
			read[c.SecretRef.Name] = creds
		}
		out.Charts = append(out.Charts, ChartCredentials{URL: c.URL, Credentials: creds})
	}
	if out.Verify, err = readVerification(ctx, a, src.Verify); err != nil {
		return out, err
	}
	out.Decryption, err = readDecryption(ctx, a, src.Decryption)
	return out, err
}

// Credentials reads a source credentials Secret; nil ref means none.
func (a SecretAccess) Credentials(ctx context.Context, ref *flotillav1.LocalObjectReference) (*source.Credentials, error) {
	if ref == nil {
		return nil, nil
	}
	s, err := a.read(ctx, ref.Name, "credentials", flotillav1.ReasonAuthFailed)
	if err != nil {
		return nil, err
	}
	return &source.Credentials{
		Username:      string(s.Data["username"]),
		Password:      string(s.Data["password"]),
		BearerToken:   string(s.Data["bearerToken"]),
		SSHPrivateKey: s.Data["sshPrivateKey"],
		KnownHosts:    s.Data["knownHosts"],
		CACert:        s.Data["caCert"],
	}, nil
}

// readVerification reads the trusted public keys of spec.source.verify:
// every entry of the Secret is a key (or, for ssh and gpg, several), taken
// in the order of the entries' names. For cosign, some entries are the
// trust of keyless signatures instead (see cosignEntry).
func readVerification(ctx context.Context, acc SecretAccess, v *flotillav1.Verification) (*source.Verification, error) {
	if v == nil {
		return nil, nil
	}
	namespace := acc.Namespace
	s, err := acc.read(ctx, v.SecretRef.Name, "verification", flotillav1.ReasonVerificationFailed)
	if err != nil {
		return nil, err
	}
	out := &source.Verification{Provider: v.Provider}
	for _, name := range sortedKeys(s.Data) {
		if v.Provider != source.VerifyCosign {
			out.Keys = append(out.Keys, s.Data[name])
			continue
		}
		if err := cosignEntry(out, name, s.Data[name]); err != nil {
			return nil, &Error{Reason: flotillav1.ReasonVerificationFailed,
				Err: fmt.Errorf("verification Secret %s/%s: %w", namespace, v.SecretRef.Name, err)}
		}
	}
	if len(out.Keys) == 0 && out.Keyless == nil {
		return nil, &Error{Reason: flotillav1.ReasonVerificationFailed,
			Err: fmt.Errorf("verification Secret %s/%s holds no key", namespace, v.SecretRef.Name)}
	}
	return out, nil
}

// The entries of a cosign verification Secret that are not keys: the
// transparency logs' public keys and the identity a keyless signature's
// certificate must name.
const (
	entryRekorKey        = "rekor.pub"
	entryCTLogKey        = "ctlog.pub"
	entryIdentityIssuer  = "identity.issuer"
	entryIdentitySubject = "identity.subject"
)

// cosignEntry sorts one entry of a cosign verification Secret into v: by
// name for the transparency logs' keys and the identity, by content for
// the certificate authority's PEM certificates, a key otherwise. Errors
// name the entry, never its content.
func cosignEntry(v *source.Verification, name string, data []byte) error {
	keyless := func() *source.Keyless {
		if v.Keyless == nil {
			v.Keyless = &source.Keyless{}
		}
		return v.Keyless
	}
	switch name {
	case entryRekorKey:
		keyless().RekorKeys = data
		return nil
	case entryCTLogKey:
		keyless().CTLogKeys = data
		return nil
	case entryIdentityIssuer:
		keyless().Issuer = strings.TrimSpace(string(data))
		return nil
	case entryIdentitySubject:
		keyless().Subject = strings.TrimSpace(string(data))
		return nil
	}
	if !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		v.Keys = append(v.Keys, data)
		return nil
	}
	if bytes.Contains(data, []byte("-----BEGIN PUBLIC KEY-----")) {
		return fmt.Errorf("entry %s holds both certificates and public keys; give them in separate entries", name)
	}
	k := keyless()
	k.Roots = append(append(k.Roots, data...), '\n')
	return nil
}

// readDecryption reads the private keys of spec.source.decryption: age
// identities (lines starting AGE-SECRET-KEY-, as age-keygen writes them,
// in any entry; Flux names such entries *.agekey) and armored OpenPGP
// private keys.
func readDecryption(ctx context.Context, acc SecretAccess, d *flotillav1.Decryption) (*render.Decryption, error) {
	if d == nil {
		return nil, nil
	}
	namespace := acc.Namespace
	s, err := acc.read(ctx, d.SecretRef.Name, "decryption", flotillav1.ReasonDecryptionFailed)
	if err != nil {
		return nil, err
	}
	out := &render.Decryption{}
	for _, name := range sortedKeys(s.Data) {
		data := s.Data[name]
		if bytes.Contains(data, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
			out.PGPKeys = append(out.PGPKeys, data)
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "AGE-SECRET-KEY-") {
				out.AgeKeys = append(out.AgeKeys, line)
			}
		}
	}
	if len(out.AgeKeys) == 0 && len(out.PGPKeys) == 0 {
		return nil, &Error{Reason: flotillav1.ReasonDecryptionFailed,
			Err: fmt.Errorf("decryption Secret %s/%s holds no age or OpenPGP private key", namespace, d.SecretRef.Name)}
	}
	return out, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
