package mtls

import (
	"crypto/x509"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

// The registration members with which a tls_client_auth client names the
// certificate it authenticates with (RFC 8705 §2.1.2).
const (
	SubjectDN = "tls_client_auth_subject_dn"
	SANDNS    = "tls_client_auth_san_dns"
	SANURI    = "tls_client_auth_san_uri"
	SANIP     = "tls_client_auth_san_ip"
	SANEmail  = "tls_client_auth_san_email"
)

// SubjectMembers lists those members.
var SubjectMembers = []string{SubjectDN, SANDNS, SANURI, SANIP, SANEmail}

// Subject is what a tls_client_auth client registered its certificate
// must carry: one of SubjectMembers and its value.
type Subject struct {
	Member string
	Value  string
}

// maxSubjectValue caps a registered value; DNs have their own cap.
const maxSubjectValue = 2048

// Validate checks a registered value, so that a client learns at
// registration that it can never match.
func (s Subject) Validate() error {
	if s.Member == SubjectDN {
		_, err := ParseDN(s.Value)
		return err
	}
	if s.Value == "" {
		return errors.New("the value is empty")
	}
	if len(s.Value) > maxSubjectValue {
		return errors.New("the value is longer than 2048 characters")
	}
	if strings.ContainsFunc(s.Value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("the value contains white space or control characters")
	}
	switch s.Member {
	case SANDNS:
		if !validDNSName(s.Value) {
			return errors.New("the value is not a DNS name")
		}
	case SANURI:
		if u, err := url.Parse(s.Value); err != nil || !u.IsAbs() {
			return errors.New("the value is not an absolute URI")
		}
	case SANIP:
		if a, err := netip.ParseAddr(s.Value); err != nil || a.Zone() != "" {
			return errors.New("the value is not an IPv4 or IPv6 address")
		}
	case SANEmail:
		local, domain, ok := strings.Cut(s.Value, "@")
		if !ok || local == "" || strings.Contains(domain, "@") || !validDNSName(domain) {
			return errors.New("the value is not an email address")
		}
	default:
		return errors.New("unknown member " + s.Member)
	}
	return nil
}

// validDNSName accepts host names of LDH labels (with underscores, which
// service names use), and a leftmost * as certificates may carry.
func validDNSName(s string) bool {
	if len(s) > 253 || s == "" {
		return false
	}
	for i, label := range strings.Split(s, ".") {
		if label == "*" && i == 0 {
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Matches reports whether the certificate carries the registered value
// (RFC 8705 §2.1.2): its subject is the registered DN (compared as Equal
// does), or one of its subject alternative names of the registered kind
// is the registered value. DNS names and the domain of an email address
// compare without regard to case; URIs compare as strings; IP addresses
// as addresses. A * in a certificate's DNS name is no wildcard here: the
// registered value must be the same name. A value Validate refuses
// matches nothing.
func (s Subject) Matches(c *x509.Certificate) bool {
	if s.Member != SubjectDN && s.Validate() != nil {
		return false
	}
	switch s.Member {
	case SubjectDN:
		want, err := ParseDN(s.Value)
		if err != nil {
			return false
		}
		got, err := ParseRawSubject(c.RawSubject)
		return err == nil && got.Equal(want)
	case SANDNS:
		for _, n := range c.DNSNames {
			if strings.EqualFold(n, s.Value) {
				return true
			}
		}
	case SANURI:
		for _, u := range c.URIs {
			if u.String() == s.Value {
				return true
			}
		}
	case SANIP:
		want, err := netip.ParseAddr(s.Value)
		if err != nil {
			return false
		}
		for _, ip := range c.IPAddresses {
			if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap() == want.Unmap() {
				return true
			}
		}
	case SANEmail:
		local, domain, _ := strings.Cut(s.Value, "@")
		for _, e := range c.EmailAddresses {
			l, d, ok := strings.Cut(e, "@")
			if ok && l == local && strings.EqualFold(d, domain) {
				return true
			}
		}
	}
	return false
}
