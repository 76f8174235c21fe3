package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newCert makes a self-signed certificate; edit changes the template.
func newCert(t testing.TB, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "client.example", Organization: []string{"Example"}},
		NotBefore:    testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
		DNSNames:       []string{"client.example.com"},
		EmailAddresses: []string{"ops@Example.com"},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("2001:db8::1")},
		URIs:           []*url.URL{{Scheme: "spiffe", Host: "example.com", Path: "/ns/prod/sa/ledger"}},
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func TestThumbprint(t *testing.T) {
	c := newCert(t, nil)
	sum := sha256.Sum256(c.Raw)
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	if got := Thumbprint(c); got != want {
		t.Fatalf("Thumbprint = %q, want %q", got, want)
	}
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{name: "a thumbprint is valid", s: want, want: true},
		{name: "padding is not", s: want + "="},
		{name: "standard base64 is not", s: "+" + want[1:]},
		{name: "a short value is not", s: want[:42]},
		{name: "empty is not", s: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidThumbprint(tt.s); got != tt.want {
				t.Fatalf("ValidThumbprint(%q) = %v", tt.s, got)
			}
		})
	}
}

func TestCheckValidity(t *testing.T) {
	c := newCert(t, nil)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{name: "within the period", now: testNow},
		{name: "after NotAfter", now: testNow.Add(2 * time.Hour), want: ErrExpired},
		{name: "before NotBefore", now: testNow.Add(-2 * time.Hour), want: ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckValidity(c, tt.now); err != tt.want {
				t.Fatalf("CheckValidity = %v, want %v", err, tt.want)
			}
		})
	}
}
