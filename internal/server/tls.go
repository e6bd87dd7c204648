package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TLSSecretName is the Secret that keeps the self-signed certificate
// generated at first start, so that clients that trusted it keep trusting
// it across restarts.
const TLSSecretName = "flotilla-server-tls"

// Lifetime of the self-signed certificate, and how long before its end a
// start replaces it.
const (
	selfSignedLifetime = 365 * 24 * time.Hour
	selfSignedRenew    = 30 * 24 * time.Hour
)

// tlsConfig loads the given certificate, or the self-signed one of the
// Secret, or makes and keeps a new one. TLS 1.2 at least; HTTP/2 is offered
// by net/http.
func (s *Server) tlsConfig(ctx context.Context) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	switch {
	case s.opts.TLSCertFile != "" && s.opts.TLSKeyFile != "":
		cert, err = tls.LoadX509KeyPair(s.opts.TLSCertFile, s.opts.TLSKeyFile)
	case s.opts.TLSCertFile != "" || s.opts.TLSKeyFile != "":
		err = errors.New("--tls-cert and --tls-key go together")
	default:
		cert, err = s.selfSigned(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// selfSigned reads the certificate kept in the Secret; when there is none,
// or it ends within selfSignedRenew, or lacks a host now asked for, it makes
// a new one and keeps it.
func (s *Server) selfSigned(ctx context.Context) (tls.Certificate, error) {
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, s.opts.TLSHosts...)
	key := client.ObjectKey{Namespace: s.opts.Namespace, Name: TLSSecretName}
	sec := &corev1.Secret{}
	err := s.hub.Get(ctx, key, sec)
	if err != nil && !apierrors.IsNotFound(err) {
		return tls.Certificate{}, fmt.Errorf("read Secret %s: %w", key, err)
	}
	if err == nil {
		if cert, ok := usableCert(sec, hosts); ok {
			return cert, nil
		}
	}
	certPEM, keyPEM, err := generateSelfSigned(hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	sec.Namespace, sec.Name, sec.Type = key.Namespace, key.Name, corev1.SecretTypeTLS
	sec.Data = map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}
	if sec.ResourceVersion == "" {
		err = s.hub.Create(ctx, sec)
	} else {
		err = s.hub.Update(ctx, sec)
	}
	if err != nil {
		// Another replica may have written one first: use it.
		if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
			if gerr := s.hub.Get(ctx, key, sec); gerr == nil {
				if cert, ok := usableCert(sec, hosts); ok {
					return cert, nil
				}
			}
		}
		return tls.Certificate{}, fmt.Errorf("keep the certificate in Secret %s: %w", key, err)
	}
	s.log.Info("self-signed certificate made", "secret", key.String(), "hosts", hosts)
	return tls.X509KeyPair(certPEM, keyPEM)
}

// usableCert is the Secret's certificate when it parses, lasts long enough
// and names every host.
func usableCert(sec *corev1.Secret, hosts []string) (tls.Certificate, bool) {
	cert, err := tls.X509KeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil || len(cert.Certificate) == 0 {
		return cert, false
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil || time.Until(leaf.NotAfter) < selfSignedRenew {
		return cert, false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return cert, false
		}
	}
	return cert, true
}

// generateSelfSigned makes an ECDSA P-256 certificate for hosts, valid
// from an hour before now for selfSignedLifetime.
func generateSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "flotilla-server", Organization: []string{"Flotilla"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	var cb, kb bytes.Buffer
	_ = pem.Encode(&cb, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&kb, &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return cb.Bytes(), kb.Bytes(), nil
}
