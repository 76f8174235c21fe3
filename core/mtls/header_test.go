package mtls

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	leaf := newCert(t, nil)
	ca := newCert(t, func(c *x509.Certificate) { c.Subject.CommonName = "Example CA" })
	b64 := base64.StdEncoding.EncodeToString
	sf := func(c *x509.Certificate) string { return ":" + b64(c.Raw) + ":" }
	escaped := url.QueryEscape(pemOf(leaf))
	// A certificate whose standard base64 has a + or a /, so that its
	// URL-safe form differs: about one random certificate in four hundred
	// has neither, and its URL-safe form is valid standard base64.
	urlSafe := leaf
	for !strings.ContainsAny(b64(urlSafe.Raw), "+/") {
		urlSafe = newCert(t, nil)
	}
	// nginx's $ssl_client_escaped_cert escapes what QueryEscape does, but
	// spaces as %20.
	nginx := strings.ReplaceAll(escaped, "+", "%20")
	body := b64(leaf.Raw)

	tests := []struct {
		name          string
		format        string
		cert, chain   string
		want          []*x509.Certificate
		wantMalformed bool
	}{
		{name: "nginx escaped PEM", format: FormatPEM, cert: nginx, want: []*x509.Certificate{leaf}},
		{name: "PEM whose + and / are left as they are", format: FormatPEM, cert: strings.ReplaceAll(pemOf(leaf), "\n", "%0A"), want: []*x509.Certificate{leaf}},
		{name: "PEM with its newlines turned into spaces", format: FormatPEM, cert: strings.ReplaceAll(strings.TrimSpace(pemOf(leaf)), "\n", " "), want: []*x509.Certificate{leaf}},
		{name: "PEM with the chain in the same value", format: FormatPEM, cert: url.PathEscape(pemOf(leaf) + pemOf(ca)), want: []*x509.Certificate{leaf, ca}},
		{name: "PEM with the chain in the chain header", format: FormatPEM, cert: nginx, chain: url.PathEscape(pemOf(ca)), want: []*x509.Certificate{leaf, ca}},
		{name: "RFC 9440 byte sequence", format: FormatRFC9440, cert: sf(leaf), want: []*x509.Certificate{leaf}},
		{name: "RFC 9440 byte sequence without padding", format: FormatRFC9440, cert: ":" + base64.RawStdEncoding.EncodeToString(leaf.Raw) + ":", want: []*x509.Certificate{leaf}},
		{name: "RFC 9440 with Client-Cert-Chain", format: FormatRFC9440, cert: sf(leaf), chain: sf(ca), want: []*x509.Certificate{leaf, ca}},
		{name: "Envoy XFCC with a quoted Cert", format: FormatXFCC, cert: `By=spiffe://example.com/server;Hash=abc;Cert="` + escaped + `";Subject="CN=client.example,O=Example";URI=spiffe://example.com/x`, want: []*x509.Certificate{leaf}},
		{name: "Envoy XFCC as Envoy escapes it", format: FormatXFCC, cert: `Hash=abc;Cert="` + nginx + `";DNS=client.example.com`, want: []*x509.Certificate{leaf}},
		{name: "Envoy XFCC takes the last element", format: FormatXFCC, cert: `Cert="` + url.QueryEscape(pemOf(ca)) + `",By=x;Cert=` + escaped, want: []*x509.Certificate{leaf}},
		{name: "Envoy XFCC with a Chain repeating the leaf", format: FormatXFCC, cert: `Cert="` + escaped + `";Chain="` + url.QueryEscape(pemOf(leaf)+pemOf(ca)) + `"`, want: []*x509.Certificate{leaf, ca}},

		{name: "an empty value", format: FormatPEM, cert: "", wantMalformed: true},
		{name: "PEM that is not URL-encoded properly", format: FormatPEM, cert: "%zz" + nginx, wantMalformed: true},
		{name: "PEM of a private key", format: FormatPEM, cert: url.PathEscape("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), wantMalformed: true},
		{name: "PEM without an end line", format: FormatPEM, cert: url.PathEscape(pemBegin + "\n" + body), wantMalformed: true},
		{name: "PEM whose body is not base64", format: FormatPEM, cert: url.PathEscape(pemBegin + "\n!!!!\n" + pemEnd), wantMalformed: true},
		{name: "PEM of bytes that are no certificate", format: FormatPEM, cert: url.PathEscape(pemBegin + "\nAAECAwQ=\n" + pemEnd), wantMalformed: true},
		{name: "PEM followed by garbage", format: FormatPEM, cert: nginx + "garbage", wantMalformed: true},
		{name: "an oversized value", format: FormatPEM, cert: nginx + strings.Repeat("%0A", MaxHeaderSize/3), wantMalformed: true},
		{name: "an oversized chain", format: FormatRFC9440, cert: sf(leaf), chain: strings.Repeat(" ", MaxHeaderSize+1), wantMalformed: true},
		{name: "a chain that is too long", format: FormatPEM, cert: url.PathEscape(strings.Repeat(pemOf(ca), MaxChainLength+1)), wantMalformed: true},
		{name: "a 9440 list that is too long", format: FormatRFC9440, cert: sf(leaf), chain: strings.TrimSuffix(strings.Repeat(sf(ca)+",", MaxChainLength), ","), wantMalformed: true},
		{name: "RFC 9440 without colons", format: FormatRFC9440, cert: b64(leaf.Raw), wantMalformed: true},
		{name: "RFC 9440 with wrong padding", format: FormatRFC9440, cert: ":" + b64(leaf.Raw) + "==:", wantMalformed: true},
		{name: "RFC 9440 in URL-safe base64", format: FormatRFC9440, cert: ":" + base64.URLEncoding.EncodeToString(urlSafe.Raw) + ":", wantMalformed: true},
		{name: "RFC 9440 with two values", format: FormatRFC9440, cert: sf(leaf) + ", " + sf(ca), wantMalformed: true},
		{name: "RFC 9440 chain with parameters", format: FormatRFC9440, cert: sf(leaf), chain: sf(ca) + ";a=1", wantMalformed: true},
		{name: "RFC 9440 chain with an empty member", format: FormatRFC9440, cert: sf(leaf), chain: sf(ca) + ",,", wantMalformed: true},
		{name: "XFCC without Cert", format: FormatXFCC, cert: `By=x;Hash=abc;Subject="CN=a"`, wantMalformed: true},
		{name: "XFCC with an unterminated quote", format: FormatXFCC, cert: `Cert="` + escaped, wantMalformed: true},
		{name: "XFCC with Cert twice", format: FormatXFCC, cert: `Cert=` + escaped + `;Cert=` + escaped, wantMalformed: true},
		{name: "XFCC with a stray quote", format: FormatXFCC, cert: `Cert=ab"c`, wantMalformed: true},
		{name: "XFCC whose Cert holds two certificates", format: FormatXFCC, cert: `Cert="` + url.QueryEscape(pemOf(leaf)+pemOf(ca)) + `"`, wantMalformed: true},
		{name: "XFCC pair without =", format: FormatXFCC, cert: `Cert`, wantMalformed: true},
		{name: "an unknown format", format: "der", cert: nginx, wantMalformed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.format, tt.cert, tt.chain)
			if tt.wantMalformed {
				if !errors.Is(err, ErrMalformed) || got != nil {
					t.Fatalf("ParseHeader = %d certificates, %v; want ErrMalformed", len(got), err)
				}
				if strings.Contains(err.Error(), body[:40]) {
					t.Fatalf("the error repeats the input: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Fatalf("certificate %d is not the one sent", i)
				}
			}
		})
	}
}
