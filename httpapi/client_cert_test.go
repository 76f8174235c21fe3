package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/core"
	"oauth2-server.dev/core/mtls"
)

func selfSigned(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
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

func TestClientCertificates(t *testing.T) {
	leaf, ca, native := selfSigned(t, "client"), selfSigned(t, "ca"), selfSigned(t, "native")
	escaped := func(c *x509.Certificate) string {
		return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	sf := func(c *x509.Certificate) string { return ":" + base64.StdEncoding.EncodeToString(c.Raw) + ":" }
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name     string
		header   ClientCertHeader
		remote   string
		tls      *x509.Certificate
		headers  map[string][]string
		want     []*x509.Certificate
		wantCode string
	}{
		{name: "no certificate and no header configured"},
		{name: "the certificate of the server's own TLS connection", tls: native, want: []*x509.Certificate{native}},
		{name: "on a trusted proxy's connection the header wins over its own certificate", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000", tls: native,
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf)}}, want: []*x509.Certificate{leaf}},
		{name: "a trusted proxy's own certificate is not its client's", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000", tls: native},
		{name: "on a client's connection its certificate wins over a header", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "192.0.2.1:5000", tls: native,
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf)}}, want: []*x509.Certificate{native}},
		{name: "a client's TLS certificate counts with a header configured", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "192.0.2.1:5000", tls: native,
			want: []*x509.Certificate{native}},
		{name: "a header configured but not sent", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000"},
		{name: "PEM from a trusted proxy", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf)}}, want: []*x509.Certificate{leaf}},
		{name: "PEM with its chain header", header: ClientCertHeader{"x-client-cert", mtls.FormatPEM}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf)}, "X-Client-Cert-Chain": {escaped(ca)}}, want: []*x509.Certificate{leaf, ca}},
		{name: "RFC 9440 with Client-Cert-Chain lines", header: ClientCertHeader{"Client-Cert", mtls.FormatRFC9440}, remote: "[::ffff:10.1.2.3]:5000",
			headers: map[string][]string{"Client-Cert": {sf(leaf)}, "Client-Cert-Chain": {sf(ca), sf(ca)}}, want: []*x509.Certificate{leaf, ca, ca}},
		{name: "XFCC lines make one list whose last element counts", header: ClientCertHeader{"X-Forwarded-Client-Cert", mtls.FormatXFCC}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Forwarded-Client-Cert": {`Cert="` + escaped(ca) + `"`, `By=x;Cert="` + escaped(leaf) + `"`}}, want: []*x509.Certificate{leaf}},
		{name: "a header from an untrusted address is ignored", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "192.0.2.1:5000",
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf)}}},
		{name: "X-Forwarded-For does not make a client a proxy", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "192.0.2.1:5000",
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf)}, "X-Forwarded-For": {"10.1.2.3"}}},
		{name: "a malformed header from a trusted proxy is refused", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Client-Cert": {"not-a-certificate"}}, wantCode: "invalid_request"},
		{name: "an oversized header is refused", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf) + strings.Repeat("%0A", mtls.MaxHeaderSize)}}, wantCode: "invalid_request"},
		{name: "two certificate headers are refused", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Client-Cert": {escaped(leaf), escaped(ca)}}, wantCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := newCertSource(tt.header, proxy)
			if err != nil {
				t.Fatal(err)
			}
			h := &handlers{log: slog.New(slog.DiscardHandler), certs: src}
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			if tt.tls != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tt.tls}}
			}
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got, err := h.clientCertificates(r)
			if tt.wantCode != "" {
				if e := core.AsError(err); err == nil || e.Code != tt.wantCode || !strings.Contains(e.Description, "header") {
					t.Fatalf("clientCertificates = %d, %v; want %s naming the header", len(got), err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Fatalf("certificate %d is another one", i)
				}
			}
		})
	}
}

func TestNewCertSourceRefusesBadSettings(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		header  ClientCertHeader
		trusted []netip.Prefix
	}{
		{name: "an unknown format", header: ClientCertHeader{"X-Client-Cert", "der"}, trusted: proxy},
		{name: "no trusted proxies", header: ClientCertHeader{"X-Client-Cert", mtls.FormatPEM}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newCertSource(tt.header, tt.trusted); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
