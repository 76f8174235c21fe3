package mtls

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
)

func TestSubjectValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       Subject
		wantErr bool
	}{
		{name: "a DN", s: Subject{SubjectDN, "CN=client.example,O=Example"}},
		{name: "a DNS name", s: Subject{SANDNS, "client.example.com"}},
		{name: "a wildcard DNS name", s: Subject{SANDNS, "*.example.com"}},
		{name: "a service DNS name", s: Subject{SANDNS, "_ledger._tcp.example.com"}},
		{name: "a URI", s: Subject{SANURI, "spiffe://example.com/ns/prod/sa/ledger"}},
		{name: "an IPv4 address", s: Subject{SANIP, "192.0.2.7"}},
		{name: "an IPv6 address", s: Subject{SANIP, "2001:db8::1"}},
		{name: "an email address", s: Subject{SANEmail, "ops@example.com"}},

		{name: "a DN that does not parse", s: Subject{SubjectDN, "CN"}, wantErr: true},
		{name: "an empty DNS name", s: Subject{SANDNS, ""}, wantErr: true},
		{name: "a DNS name with a space", s: Subject{SANDNS, "client example"}, wantErr: true},
		{name: "a DNS name with an empty label", s: Subject{SANDNS, "client..example"}, wantErr: true},
		{name: "a DNS name with a wildcard inside", s: Subject{SANDNS, "a.*.example"}, wantErr: true},
		{name: "a DNS name with a hyphen at a label's end", s: Subject{SANDNS, "client-.example"}, wantErr: true},
		{name: "a DNS name too long", s: Subject{SANDNS, strings.Repeat("a.", 127) + "com"}, wantErr: true},
		{name: "a relative URI", s: Subject{SANURI, "/ledger"}, wantErr: true},
		{name: "a URI with a control character", s: Subject{SANURI, "https://a.example/\x01"}, wantErr: true},
		{name: "an IP with a zone", s: Subject{SANIP, "fe80::1%eth0"}, wantErr: true},
		{name: "an IP that is a name", s: Subject{SANIP, "localhost"}, wantErr: true},
		{name: "an email without @", s: Subject{SANEmail, "ops.example.com"}, wantErr: true},
		{name: "an email with two @", s: Subject{SANEmail, "a@b@example.com"}, wantErr: true},
		{name: "an email without a local part", s: Subject{SANEmail, "@example.com"}, wantErr: true},
		{name: "an oversized value", s: Subject{SANURI, "https://a.example/" + strings.Repeat("a", maxSubjectValue)}, wantErr: true},
		{name: "an unknown member", s: Subject{"tls_client_auth_san_x", "a"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate(%+v) = %v", tt.s, err)
			}
		})
	}
}

func TestSubjectMatches(t *testing.T) {
	c := newCert(t, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "client.example", Organization: []string{"Example Corp"}, Country: []string{"DE"}}
	})
	tests := []struct {
		name string
		s    Subject
		want bool
	}{
		{name: "the subject DN", s: Subject{SubjectDN, "CN=client.example,O=Example Corp,C=DE"}, want: true},
		{name: "the subject DN in other case and spacing", s: Subject{SubjectDN, "cn=Client.Example, o=example  corp, c=de"}, want: true},
		{name: "a DN with another CN", s: Subject{SubjectDN, "CN=other.example,O=Example Corp,C=DE"}},
		{name: "a DN in reverse order", s: Subject{SubjectDN, "C=DE,O=Example Corp,CN=client.example"}},
		{name: "a DN missing an RDN", s: Subject{SubjectDN, "CN=client.example,O=Example Corp"}},
		{name: "a DN that does not parse", s: Subject{SubjectDN, "garbage"}},
		{name: "the DNS SAN", s: Subject{SANDNS, "client.example.com"}, want: true},
		{name: "the DNS SAN in upper case", s: Subject{SANDNS, "CLIENT.example.com"}, want: true},
		{name: "a parent domain is no match", s: Subject{SANDNS, "example.com"}},
		{name: "the CN is no DNS SAN", s: Subject{SANDNS, "client.example"}},
		{name: "the URI SAN", s: Subject{SANURI, "spiffe://example.com/ns/prod/sa/ledger"}, want: true},
		{name: "a URI prefix is no match", s: Subject{SANURI, "spiffe://example.com/ns/prod"}},
		{name: "the IPv4 SAN", s: Subject{SANIP, "192.0.2.7"}, want: true},
		{name: "the IPv4 SAN written IPv4-mapped", s: Subject{SANIP, "::ffff:192.0.2.7"}, want: true},
		{name: "the IPv6 SAN in another spelling", s: Subject{SANIP, "2001:0db8:0:0::1"}, want: true},
		{name: "another IP", s: Subject{SANIP, "192.0.2.8"}},
		{name: "the email SAN with the domain in other case", s: Subject{SANEmail, "ops@example.COM"}, want: true},
		{name: "the email local part is case-sensitive", s: Subject{SANEmail, "OPS@example.com"}},
		{name: "an unknown member", s: Subject{"x", "client.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Matches(c); got != tt.want {
				t.Fatalf("Matches(%+v) = %v", tt.s, got)
			}
		})
	}
}
