package mtls

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"time"
)

// Thumbprint is the x5t#S256 confirmation of a certificate (RFC 8705
// §3.1): the base64url SHA-256 of its DER encoding, without padding.
func Thumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidThumbprint reports whether s has the form of an x5t#S256 value.
func ValidThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// Validity errors.
var (
	ErrExpired     = errors.New("the client certificate has expired")
	ErrNotYetValid = errors.New("the client certificate is not valid yet")
)

// CheckValidity refuses a certificate used outside its validity period.
// crypto/tls does not look at the dates of a certificate it was only
// asked to request, and a proxy may not either.
func CheckValidity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return ErrExpired
	case now.Before(c.NotBefore):
		return ErrNotYetValid
	}
	return nil
}
