package mtls

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Formats of the header in which a TLS-terminating proxy forwards the
// client's certificate.
const (
	// FormatPEM is the URL-encoded PEM of nginx's $ssl_client_escaped_cert
	// (also AWS ALB, Traefik with pem): one or more CERTIFICATE blocks,
	// the client's own first.
	FormatPEM = "pem"
	// FormatRFC9440 is the Client-Cert header of RFC 9440: the DER
	// certificate as a structured-field byte sequence (":base64:"), with
	// the chain in a Client-Cert-Chain list of byte sequences.
	FormatRFC9440 = "rfc9440"
	// FormatXFCC is Envoy's X-Forwarded-Client-Cert: elements of key=value
	// pairs, the certificate URL-encoded PEM in Cert, the chain in Chain.
	FormatXFCC = "xfcc"
)

// Formats lists the header formats ParseHeader reads.
var Formats = []string{FormatPEM, FormatRFC9440, FormatXFCC}

// Bounds on forwarded certificates.
const (
	// MaxHeaderSize caps each header value; a chain of a few RSA-4096
	// certificates, URL-encoded, stays well below it.
	MaxHeaderSize = 16 << 10
	// MaxChainLength caps the certificates of one chain, leaf included,
	// so that chain building has little to chew on.
	MaxChainLength = 8
)

// ErrMalformed is wrapped by every refusal of a forwarded certificate.
var ErrMalformed = errors.New("malformed client certificate header")

func malformed(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }

var errTooLarge = malformed(fmt.Sprintf("the value exceeds %d bytes", MaxHeaderSize))

// ParseHeader reads the certificate chain a proxy forwarded, leaf first.
// cert is the value of the certificate header; chain is the value of the
// companion chain header (Client-Cert-Chain for RFC 9440, the same name
// with -Chain for PEM), "" when there is none. Envoy's format carries the
// chain in its own value and ignores chain. Every failure wraps
// ErrMalformed.
func ParseHeader(format, cert, chain string) ([]*x509.Certificate, error) {
	if len(cert) > MaxHeaderSize || len(chain) > MaxHeaderSize {
		return nil, errTooLarge
	}
	var ders [][]byte
	var err error
	switch format {
	case FormatPEM:
		if ders, err = escapedPEM(cert); err != nil {
			return nil, err
		}
		if len(ders) == 0 {
			return nil, malformed("no certificate in the value")
		}
		if strings.TrimSpace(chain) != "" {
			rest, err := escapedPEM(chain)
			if err != nil {
				return nil, err
			}
			ders = append(ders, rest...)
		}
	case FormatRFC9440:
		leaf, err := byteSequence(strings.TrimSpace(cert))
		if err != nil {
			return nil, err
		}
		ders = [][]byte{leaf}
		if strings.TrimSpace(chain) != "" {
			rest, err := byteSequenceList(chain)
			if err != nil {
				return nil, err
			}
			ders = append(ders, rest...)
		}
	case FormatXFCC:
		if ders, err = xfcc(cert); err != nil {
			return nil, err
		}
	default:
		return nil, malformed("unknown header format " + format)
	}
	if len(ders) > MaxChainLength {
		return nil, malformed(fmt.Sprintf("the chain holds more than %d certificates", MaxChainLength))
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, malformed("a certificate is not a valid DER X.509 certificate")
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// escapedPEM decodes URL-encoded PEM into the DER of its CERTIFICATE
// blocks. Percent-decoding keeps "+" as it is: it belongs to the base64
// alphabet, and proxies that leave it unescaped mean it so.
func escapedPEM(v string) ([][]byte, error) {
	s, err := url.PathUnescape(strings.TrimSpace(v))
	if err != nil {
		return nil, malformed("the value is not URL-encoded")
	}
	return pemCertificates(s)
}

const (
	pemBegin = "-----BEGIN CERTIFICATE-----"
	pemEnd   = "-----END CERTIFICATE-----"
	// Encoders that write spaces as "+" leave these armor lines; the
	// body cannot be affected, as they escape a literal "+" there.
	pemBeginPlus = "-----BEGIN+CERTIFICATE-----"
	pemEndPlus   = "-----END+CERTIFICATE-----"
)

// cutBegin removes the BEGIN line from the start of s.
func cutBegin(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, pemBegin); ok {
		return rest, true
	}
	return strings.CutPrefix(s, pemBeginPlus)
}

// pemCertificates decodes consecutive PEM CERTIFICATE blocks. The body of
// a block may be broken by any whitespace, not only newlines: some proxies
// turn the newlines of a PEM into spaces to fit it in a header line.
func pemCertificates(s string) ([][]byte, error) {
	var out [][]byte
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return out, nil
		}
		if len(out) == MaxChainLength {
			return nil, malformed(fmt.Sprintf("the chain holds more than %d certificates", MaxChainLength))
		}
		rest, ok := cutBegin(s)
		if !ok {
			return nil, malformed("the value is not a PEM CERTIFICATE block")
		}
		end := strings.Index(rest, pemEnd)
		if plus := strings.Index(rest, pemEndPlus); plus >= 0 && (end < 0 || plus < end) {
			end = plus
		}
		if end < 0 {
			return nil, malformed("a PEM block has no end line")
		}
		body, after := rest[:end], rest[end+len(pemEnd):]
		body = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, body)
		der, err := base64.StdEncoding.Strict().DecodeString(body)
		if err != nil || len(der) == 0 {
			return nil, malformed("a PEM block is not base64")
		}
		out = append(out, der)
		s = after
	}
}

// byteSequence decodes an RFC 8941 §3.3.5 byte sequence, ":" base64 ":".
func byteSequence(v string) ([]byte, error) {
	inner, ok := strings.CutPrefix(v, ":")
	if ok {
		inner, ok = strings.CutSuffix(inner, ":")
	}
	if !ok || inner == "" || strings.ContainsAny(inner, ": \t") {
		return nil, malformed("the value is not a structured-field byte sequence (:base64:)")
	}
	// RFC 8941 §4.2.7: parsers should not fail when padding is missing;
	// padding that is there must be right.
	enc := base64.RawStdEncoding
	if strings.HasSuffix(inner, "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.Strict().DecodeString(inner)
	if err != nil {
		return nil, malformed("the byte sequence is not base64")
	}
	return b, nil
}

// byteSequenceList decodes an RFC 8941 §3.1 list whose members are byte
// sequences without parameters, as RFC 9440 §2.3 sends the chain.
// Several header lines make one list.
func byteSequenceList(v string) ([][]byte, error) {
	var out [][]byte
	for _, member := range strings.Split(v, ",") {
		member = strings.Trim(member, " \t")
		if member == "" {
			return nil, malformed("the chain list has an empty member")
		}
		if len(out) == MaxChainLength {
			return nil, malformed(fmt.Sprintf("the chain holds more than %d certificates", MaxChainLength))
		}
		b, err := byteSequence(member)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// xfcc reads the certificate and chain of the last element of an Envoy
// X-Forwarded-Client-Cert value: each proxy on the way appends one, so the
// last is the one the proxy next to the server added about its own peer.
func xfcc(v string) ([][]byte, error) {
	elements, err := splitQuoted(v, ',')
	if err != nil {
		return nil, err
	}
	last := strings.TrimSpace(elements[len(elements)-1])
	pairs, err := splitQuoted(last, ';')
	if err != nil {
		return nil, err
	}
	var cert, chain string
	var seenCert, seenChain bool
	for _, pair := range pairs {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || key == "" {
			return nil, malformed("an X-Forwarded-Client-Cert pair is not key=value")
		}
		value, err := unquote(value)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(key) {
		case "cert":
			if seenCert {
				return nil, malformed("X-Forwarded-Client-Cert names Cert twice")
			}
			cert, seenCert = value, true
		case "chain":
			if seenChain {
				return nil, malformed("X-Forwarded-Client-Cert names Chain twice")
			}
			chain, seenChain = value, true
		}
	}
	if cert == "" {
		return nil, malformed("the X-Forwarded-Client-Cert element has no Cert; forward the certificate itself (set_current_client_cert_details cert: true)")
	}
	ders, err := escapedPEM(cert)
	if err != nil {
		return nil, err
	}
	if len(ders) != 1 {
		return nil, malformed("Cert must hold exactly one certificate")
	}
	if chain != "" {
		rest, err := escapedPEM(chain)
		if err != nil {
			return nil, err
		}
		// Envoy's Chain starts with the leaf again.
		for _, der := range rest {
			if string(der) != string(ders[0]) {
				ders = append(ders, der)
			}
		}
	}
	return ders, nil
}

// splitQuoted splits s at sep outside double quotes, in which a backslash
// escapes the next character.
func splitQuoted(s string, sep byte) ([]string, error) {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, malformed("X-Forwarded-Client-Cert has an unterminated quote")
	}
	return append(out, s[start:]), nil
}

// unquote removes the double quotes around an X-Forwarded-Client-Cert
// value and the backslashes inside them.
func unquote(v string) (string, error) {
	if !strings.HasPrefix(v, `"`) {
		if strings.ContainsAny(v, `"\`) {
			return "", malformed("an X-Forwarded-Client-Cert value has a stray quote or backslash")
		}
		return v, nil
	}
	if len(v) < 2 || !strings.HasSuffix(v, `"`) {
		return "", malformed("an X-Forwarded-Client-Cert value has an unterminated quote")
	}
	inner := v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c == '\\' {
			if i+1 == len(inner) {
				return "", malformed("an X-Forwarded-Client-Cert value ends in a backslash")
			}
			i++
			c = inner[i]
		} else if c == '"' {
			return "", malformed("an X-Forwarded-Client-Cert value has an unescaped quote")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
