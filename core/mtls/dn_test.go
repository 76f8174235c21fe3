package mtls

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
)

func TestParseDN(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // String() of the result; "" when refused
		wantErr string
	}{
		{name: "a plain name", in: "CN=client.example,O=Example,C=DE", want: "CN=client.example,O=Example,C=DE"},
		{name: "spaces around separators", in: " CN = client.example , O = Example ", want: "CN=client.example,O=Example"},
		{name: "lower-case type names", in: "cn=a,o=b", want: "CN=a,O=b"},
		{name: "a multi-valued RDN", in: "CN=a+UID=42,O=b", want: "CN=a+UID=42,O=b"},
		{name: "a numeric OID", in: "2.5.4.3=a", want: "CN=a"},
		{name: "names beyond RFC 4514 go out as OIDs", in: "emailAddress=ops@example.com,serialNumber=7", want: "1.2.840.113549.1.9.1=ops@example.com,2.5.4.5=7"},
		{name: "escaped specials", in: `CN=Doe\, John \+ Co\;\<\>\"\\`, want: `CN=Doe\, John \+ Co\;\<\>\"\\`},
		{name: "escaped leading # and space, trailing space", in: `CN=\#1 x\ `, want: `CN=\#1 x\ `},
		{name: "hex-escaped UTF-8", in: `CN=J\C3\BCrgen`, want: "CN=Jürgen"},
		{name: "an unescaped = inside a value", in: "CN=a=b", want: "CN=a=b"},
		{name: "a #hex string value becomes a string", in: "CN=#0c03616263", want: "CN=abc"},
		{name: "a #hex value that is no string stays hex", in: "1.2.3.4=#020101", want: "1.2.3.4=#020101"},
		{name: "an empty value", in: "CN=,O=b", want: "CN=,O=b"},

		{name: "an empty name", in: "  ", wantErr: "empty"},
		{name: "no = after the type", in: "CN", wantErr: "followed by ="},
		{name: "an unknown type name", in: "XX=a", wantErr: "unknown"},
		{name: "an OID with a leading zero", in: "2.05.4=a", wantErr: "not a valid OID"},
		{name: "an OID of one arc", in: "2=a", wantErr: "not a valid OID"},
		{name: "a huge OID arc", in: "2.99999999999=a", wantErr: "not a valid OID"},
		{name: "a trailing comma", in: "CN=a,", wantErr: "missing"},
		{name: "two commas", in: "CN=a,,O=b", wantErr: "missing"},
		{name: "a trailing backslash", in: `CN=a\`, wantErr: "backslash"},
		{name: "a bad escape", in: `CN=a\x`, wantErr: "backslash"},
		{name: "an unescaped quote", in: `CN=a"b`, wantErr: "unescaped"},
		{name: "an unescaped semicolon", in: "CN=a;O=b", wantErr: "unescaped"},
		{name: "escaped bytes that are not UTF-8", in: `CN=\ff`, wantErr: "UTF-8"},
		{name: "odd hex", in: "CN=#0c0", wantErr: "not hex"},
		{name: "hex with trailing bytes", in: "CN=#0c016100", wantErr: "one BER"},
		{name: "garbage after a hex value", in: "CN=#0c0161 x", wantErr: "followed by , or +"},
		{name: "an oversized name", in: "CN=" + strings.Repeat("a", maxDNLength), wantErr: "longer"},
		{name: "too many RDNs", in: strings.Repeat("CN=a,", maxRDNs) + "CN=a", wantErr: "RDNs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dn, err := ParseDN(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDN(%q) = %v, %v; want an error about %q", tt.in, dn, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDN(%q): %v", tt.in, err)
			}
			if got := dn.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			again, err := ParseDN(dn.String())
			if err != nil || !again.Equal(dn) {
				t.Fatalf("the string form does not parse back to the same name: %v", err)
			}
		})
	}
}

func TestDNEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "the same name", a: "CN=a,O=b", b: "CN=a,O=b", want: true},
		{name: "case does not matter", a: "CN=Client.Example,O=EXAMPLE", b: "cn=client.example,o=example", want: true},
		{name: "runs of spaces do not matter", a: "CN=Example   Corp", b: "CN=Example Corp", want: true},
		{name: "a name type and its OID", a: "CN=a", b: "2.5.4.3=a", want: true},
		{name: "attributes of an RDN in any order", a: "CN=a+UID=1,O=b", b: "UID=1+CN=a,O=b", want: true},
		{name: "a hex string and its text", a: "CN=#0c0161", b: "CN=a", want: true},
		{name: "RDN order matters", a: "CN=a,O=b", b: "O=b,CN=a"},
		{name: "a missing RDN", a: "CN=a,O=b", b: "CN=a"},
		{name: "another value", a: "CN=a,O=b", b: "CN=a,O=c"},
		{name: "another type", a: "CN=a", b: "OU=a"},
		{name: "a multi-valued RDN is not two RDNs", a: "CN=a+O=b", b: "CN=a,O=b"},
		{name: "inner spaces still separate words", a: "CN=ab", b: "CN=a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err1 := ParseDN(tt.a)
			b, err2 := ParseDN(tt.b)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if got := a.Equal(b); got != tt.want {
				t.Fatalf("Equal(%q, %q) = %v", tt.a, tt.b, got)
			}
			if got := b.Equal(a); got != tt.want {
				t.Fatalf("Equal is not symmetric for %q, %q", tt.a, tt.b)
			}
		})
	}
}

func TestParseRawSubject(t *testing.T) {
	// Encoding order: C, O, two OUs in one RDN, CN, and a value that is
	// not a string (which crypto/x509 would refuse to parse, but a Name
	// may hold).
	raw := mustMarshal(t, pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "DE"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Example Corp"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "Payments"}, {Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "Ledger"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "ledger-1"}},
		{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: 7}},
	})
	dn, err := ParseRawSubject(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dn.String(), "1.2.3.4=#020107,CN=ledger-1,OU=Ledger+OU=Payments,O=Example Corp,C=DE"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	want, _ := ParseDN("1.2.3.4=#020107, cn=Ledger-1, ou=Payments+ou=Ledger, o=example corp, c=de")
	if !dn.Equal(want) {
		t.Fatal("the subject does not equal its registered form")
	}
	t.Run("a certificate's subject reads in encoding order", func(t *testing.T) {
		c := newCert(t, func(c *x509.Certificate) {
			c.Subject = pkix.Name{CommonName: "a", Organization: []string{"b"}, Country: []string{"DE"}}
		})
		dn, err := ParseRawSubject(c.RawSubject)
		if err != nil || dn.String() != "CN=a,O=b,C=DE" {
			t.Fatalf("got %q, %v", dn, err)
		}
	})
	t.Run("bytes that are no Name are refused", func(t *testing.T) {
		if _, err := ParseRawSubject([]byte{0x30, 0x03, 0x01}); err == nil {
			t.Fatal("accepted")
		}
		if _, err := ParseRawSubject(append(raw, 0)); err == nil {
			t.Fatal("accepted trailing bytes")
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
