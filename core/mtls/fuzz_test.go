package mtls

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseHeader feeds arbitrary header values to the parser of
// forwarded certificates, in each format. It must never panic and must
// refuse with ErrMalformed; what it accepts must be within the bounds,
// and must be exactly the certificates that the value, written again in
// the same format, carries.
func FuzzParseHeader(f *testing.F) {
	f.Add(FormatPEM, "", "")
	f.Add(FormatRFC9440, ":AAAA:", ":AAAA:, :AAAA:")
	f.Add(FormatXFCC, `By=a;Cert="%2D%2D"`, "")
	f.Fuzz(func(t *testing.T, format, cert, chain string) {
		certs, err := ParseHeader(format, cert, chain)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || certs != nil {
				t.Fatalf("refused without ErrMalformed, or with certificates: %v", err)
			}
			return
		}
		switch {
		case !slices.Contains(Formats, format):
			t.Fatalf("accepted format %q", format)
		case len(cert) > MaxHeaderSize || len(chain) > MaxHeaderSize:
			t.Fatalf("accepted a value of %d bytes", max(len(cert), len(chain)))
		case len(certs) == 0 || len(certs) > MaxChainLength:
			t.Fatalf("accepted %d certificates", len(certs))
		}
		for _, c := range certs {
			again, err := x509.ParseCertificate(c.Raw)
			if err != nil || !again.Equal(c) {
				t.Fatalf("accepted a certificate that does not parse again: %v", err)
			}
		}
		var leaf, rest string
		switch format {
		case FormatPEM:
			leaf = url.PathEscape(pemOf(certs[0]))
			for _, c := range certs[1:] {
				rest += url.PathEscape(pemOf(c))
			}
		case FormatRFC9440:
			leaf = ":" + base64.StdEncoding.EncodeToString(certs[0].Raw) + ":"
			var members []string
			for _, c := range certs[1:] {
				members = append(members, ":"+base64.StdEncoding.EncodeToString(c.Raw)+":")
			}
			rest = strings.Join(members, ", ")
		case FormatXFCC:
			leaf = `Cert="` + url.PathEscape(pemOf(certs[0])) + `"`
			if len(certs) > 1 {
				var all string
				for _, c := range certs {
					all += pemOf(c)
				}
				leaf += `;Chain="` + url.PathEscape(all) + `"`
			}
		}
		if len(leaf) > MaxHeaderSize || len(rest) > MaxHeaderSize {
			// Written again with escapes and padding, the value may no
			// longer fit the bound that the original met.
			return
		}
		again, err := ParseHeader(format, leaf, rest)
		if err != nil || len(again) != len(certs) {
			t.Fatalf("the certificates, written again, parse to %d certificates: %v", len(again), err)
		}
		for i := range certs {
			if !again[i].Equal(certs[i]) {
				t.Fatalf("certificate %d differs once written again", i)
			}
		}
	})
}

// FuzzDN feeds arbitrary strings to the RFC 4514 parser and arbitrary
// bytes to the parser of certificate subjects. Neither may panic; a name
// either accepts must equal itself, and its string form must parse back
// to an equal name, so that an operator can register the DN of a
// certificate as String prints it.
func FuzzDN(f *testing.F) {
	f.Add("CN=client.example,O=Example", []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if dn, err := ParseDN(s); err == nil {
			if len(dn) == 0 || !dn.Equal(dn) {
				t.Fatalf("ParseDN(%q) gave %d RDNs that do not equal themselves", s, len(dn))
			}
			again, err := ParseDN(dn.String())
			if err != nil || !again.Equal(dn) {
				t.Fatalf("%q printed as %q, which parses to another name: %v", s, dn.String(), err)
			}
		}
		subject, err := ParseRawSubject(raw)
		if err != nil || !withinBounds(subject) {
			return
		}
		if !subject.Equal(subject) {
			t.Fatal("a subject does not equal itself")
		}
		again, err := ParseDN(subject.String())
		if err != nil || !again.Equal(subject) {
			t.Fatalf("the subject printed as %q parses to another name: %v", subject.String(), err)
		}
	})
}

// withinBounds reports whether ParseDN is meant to take the string form
// of dn: not empty, within its size bounds, and with types it can name.
func withinBounds(dn DN) bool {
	if len(dn) == 0 || len(dn) > maxRDNs || len(dn.String()) > maxDNLength {
		return false
	}
	for _, rdn := range dn {
		if len(rdn) == 0 || len(rdn) > maxRDNAttribute {
			return false
		}
		for _, a := range rdn {
			if !validOID(a.Type) {
				return false
			}
		}
	}
	return true
}

// FuzzSubjectMatch matches arbitrary registered values against a
// certificate carrying arbitrary names. A value Validate refuses must
// match nothing; a value that matches must name something the
// certificate really carries; and a certificate's subject, as String
// prints it, must match the certificate.
func FuzzSubjectMatch(f *testing.F) {
	f.Add(uint8(0), "CN=a", []byte{0x30, 0x00}, "a.example", "spiffe://a/b", "a@example.com", []byte{192, 0, 2, 1})
	f.Fuzz(func(t *testing.T, member uint8, value string, rawSubject []byte, dns, uri, email string, ip []byte) {
		c := &x509.Certificate{RawSubject: rawSubject, DNSNames: []string{dns}, EmailAddresses: []string{email}, IPAddresses: []net.IP{ip}}
		if u, err := url.Parse(uri); err == nil {
			c.URIs = []*url.URL{u}
		}
		s := Subject{Member: SubjectMembers[int(member)%len(SubjectMembers)], Value: value}
		if s.Matches(c) {
			if err := s.Validate(); err != nil {
				t.Fatalf("%+v matched, but Validate refuses it: %v", s, err)
			}
			if !carries(c, s) {
				t.Fatalf("%+v matched a certificate that does not carry it", s)
			}
		}
		if subject, err := ParseRawSubject(rawSubject); err == nil && withinBounds(subject) {
			if !(Subject{Member: SubjectDN, Value: subject.String()}).Matches(c) {
				t.Fatalf("the subject printed as %q does not match its certificate", subject.String())
			}
		}
	})
}

// carries says, by the plainest comparison, whether c has the name s.
func carries(c *x509.Certificate, s Subject) bool {
	switch s.Member {
	case SubjectDN:
		want, err1 := ParseDN(s.Value)
		got, err2 := ParseRawSubject(c.RawSubject)
		return err1 == nil && err2 == nil && got.Equal(want)
	case SANDNS:
		return strings.EqualFold(c.DNSNames[0], s.Value)
	case SANURI:
		return len(c.URIs) == 1 && c.URIs[0].String() == s.Value
	case SANIP:
		a, ok := netip.AddrFromSlice(c.IPAddresses[0])
		return ok && a.Unmap() == netip.MustParseAddr(s.Value).Unmap()
	case SANEmail:
		i, j := strings.LastIndex(c.EmailAddresses[0], "@"), strings.LastIndex(s.Value, "@")
		return i > 0 && j > 0 && c.EmailAddresses[0][:i] == s.Value[:j] && strings.EqualFold(c.EmailAddresses[0][i:], s.Value[j:])
	}
	return false
}
