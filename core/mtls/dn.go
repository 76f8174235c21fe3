package mtls

import (
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DN is a distinguished name: its RDNs in the order of the certificate's
// ASN.1 encoding, which is the reverse of the order of its RFC 4514
// string, each RDN a set of attributes.
type DN [][]Attribute

// Attribute is one attribute type and value of an RDN.
type Attribute struct {
	// Type is the attribute type's OID, dotted.
	Type string
	// Value is the value of a string-typed attribute.
	Value string
	// BER is the encoding of a value that is not a string (RFC 4514
	// §2.4 writes it as #hex); nil for strings.
	BER []byte
}

// Bounds on distinguished names given as strings.
const (
	maxDNLength     = 4096
	maxRDNs         = 64
	maxRDNAttribute = 16
)

// attributeTypes are the names RFC 4514 §3 defines, and a few more that
// certificate subjects commonly carry; any other type is given by OID.
var attributeTypes = map[string]string{
	"CN": "2.5.4.3", "L": "2.5.4.7", "ST": "2.5.4.8", "O": "2.5.4.10", "OU": "2.5.4.11",
	"C": "2.5.4.6", "STREET": "2.5.4.9", "DC": "0.9.2342.19200300.100.1.25", "UID": "0.9.2342.19200300.100.1.1",
	"SERIALNUMBER": "2.5.4.5", "EMAILADDRESS": "1.2.840.113549.1.9.1", "E": "1.2.840.113549.1.9.1",
	"TITLE": "2.5.4.12", "SN": "2.5.4.4", "SURNAME": "2.5.4.4", "GN": "2.5.4.42", "GIVENNAME": "2.5.4.42",
	"POSTALCODE": "2.5.4.17", "ORGANIZATIONIDENTIFIER": "2.5.4.97",
}

// shortNames are the names String writes: those of RFC 4514 §3 only, as
// it asks; other types go out as OIDs.
var shortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.6": "C", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

// ParseDN parses the RFC 4514 string form of a distinguished name. Spaces
// around the separators are allowed, as people write "CN=a, O=b".
func ParseDN(s string) (DN, error) {
	if len(s) > maxDNLength {
		return nil, errors.New("the distinguished name is longer than 4096 characters")
	}
	p := dnParser{s: s}
	p.skipSpaces()
	if p.done() {
		return nil, errors.New("the distinguished name is empty")
	}
	var dn DN
	for {
		if len(dn) == maxRDNs {
			return nil, errors.New("the distinguished name has more than 64 RDNs")
		}
		var rdn []Attribute
		for {
			if len(rdn) == maxRDNAttribute {
				return nil, errors.New("an RDN has more than 16 attributes")
			}
			a, err := p.attribute()
			if err != nil {
				return nil, err
			}
			rdn = append(rdn, a)
			if !p.take('+') {
				break
			}
		}
		dn = append(dn, rdn)
		if p.done() {
			break
		}
		if !p.take(',') {
			return nil, errors.New("an attribute value must be followed by , or +")
		}
	}
	slices.Reverse(dn)
	return dn, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) done() bool { return p.i >= len(p.s) }

func (p *dnParser) skipSpaces() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// take consumes c, and the spaces after it.
func (p *dnParser) take(c byte) bool {
	if p.done() || p.s[p.i] != c {
		return false
	}
	p.i++
	p.skipSpaces()
	return true
}

func (p *dnParser) attribute() (Attribute, error) {
	start := p.i
	for p.i < len(p.s) && isTypeChar(p.s[p.i]) {
		p.i++
	}
	oid, err := attributeType(p.s[start:p.i])
	if err != nil {
		return Attribute{}, err
	}
	p.skipSpaces()
	if !p.take('=') {
		return Attribute{}, errors.New("an attribute type must be followed by =")
	}
	if !p.done() && p.s[p.i] == '#' {
		return p.hexValue(oid)
	}
	return p.stringValue(oid)
}

// attributeType resolves a descr or a numericoid (RFC 4512 §1.4).
func attributeType(t string) (string, error) {
	if t == "" {
		return "", errors.New("an attribute type is missing")
	}
	if c := t[0]; c >= '0' && c <= '9' {
		if !validOID(t) {
			return "", errors.New("attribute type " + quoteShort(t) + " is not a valid OID")
		}
		return t, nil
	}
	if oid, ok := attributeTypes[strings.ToUpper(t)]; ok {
		return oid, nil
	}
	return "", errors.New("attribute type " + quoteShort(t) + " is unknown; give it as an OID")
}

func validOID(s string) bool {
	arcs := strings.Split(s, ".")
	if len(arcs) < 2 {
		return false
	}
	for _, a := range arcs {
		if a == "" || len(a) > 1 && a[0] == '0' {
			return false
		}
		if _, err := strconv.ParseInt(a, 10, 32); err != nil {
			return false
		}
	}
	return true
}

// quoteShort quotes a part of the input for an error text, cut short.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strconv.Quote(s)
}

func (p *dnParser) hexValue(oid string) (Attribute, error) {
	p.i++
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != '+' && p.s[p.i] != ' ' {
		p.i++
	}
	ber, err := hex.DecodeString(p.s[start:p.i])
	if err != nil || len(ber) == 0 {
		return Attribute{}, errors.New("a #hex attribute value is not hex")
	}
	var rv asn1.RawValue
	if rest, err := asn1.Unmarshal(ber, &rv); err != nil || len(rest) != 0 {
		return Attribute{}, errors.New("a #hex attribute value is not one BER-encoded value")
	}
	p.skipSpaces()
	return attributeOf(oid, rv), nil
}

// stringValue reads an RFC 4514 §3 string up to an unescaped , or +.
// Unescaped spaces at its end separate it from what follows; escaped ones
// belong to it.
func (p *dnParser) stringValue(oid string) (Attribute, error) {
	var b []byte
	keep := 0
scan:
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == ',' || c == '+':
			break scan
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return Attribute{}, errors.New("an attribute value ends in a backslash")
			}
			n := p.s[p.i+1]
			if strings.IndexByte(` "#+,;<=>\`, n) >= 0 {
				b = append(b, n)
				p.i += 2
			} else if p.i+2 < len(p.s) && isHex(n) && isHex(p.s[p.i+2]) {
				v, _ := strconv.ParseUint(p.s[p.i+1:p.i+3], 16, 8)
				b = append(b, byte(v))
				p.i += 3
			} else {
				return Attribute{}, errors.New("an attribute value has a backslash before neither a special character nor two hex digits")
			}
			keep = len(b)
			continue
		case c == '"' || c == ';' || c == '<' || c == '>' || c == 0:
			return Attribute{}, errors.New(`an attribute value has an unescaped " ; < > or NUL`)
		}
		b = append(b, c)
		p.i++
	}
	for len(b) > keep && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return Attribute{}, errors.New("an attribute value is not UTF-8")
	}
	return Attribute{Type: oid, Value: string(b)}, nil
}

// isTypeChar reports whether c may appear in a descr or a numericoid.
func isTypeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// String tags of ASN.1 (X.690) that directory strings use.
var stringTags = []int{asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String,
	asn1.TagT61String, asn1.TagNumericString, asn1.TagBMPString}

// attributeOf turns an encoded value into an attribute: a string when it
// is one of the string types and decodes to UTF-8, else its encoding.
func attributeOf(oid string, rv asn1.RawValue) Attribute {
	if rv.Class == asn1.ClassUniversal && !rv.IsCompound && slices.Contains(stringTags, rv.Tag) {
		var s string
		if rest, err := asn1.Unmarshal(rv.FullBytes, &s); err == nil && len(rest) == 0 && utf8.ValidString(s) {
			return Attribute{Type: oid, Value: s}
		}
	}
	return Attribute{Type: oid, BER: slices.Clone(rv.FullBytes)}
}

type attributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rdnSET is decoded as an ASN.1 SET OF: encoding/asn1 goes by the SET
// suffix of the type name.
type rdnSET []attributeTypeAndValue

// ParseRawSubject reads a DER Name (X.509 RawSubject or RawIssuer) with
// every attribute as encoded, in encoding order; pkix.Name would reorder
// them and fold multi-valued RDNs.
func ParseRawSubject(der []byte) (DN, error) {
	var seq []rdnSET
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("the certificate subject is not a DER Name")
	}
	dn := make(DN, 0, len(seq))
	for _, set := range seq {
		rdn := make([]Attribute, 0, len(set))
		for _, atv := range set {
			rdn = append(rdn, attributeOf(atv.Type.String(), atv.Value))
		}
		dn = append(dn, rdn)
	}
	return dn, nil
}

// String writes the name in RFC 4514 form.
func (d DN) String() string {
	var b strings.Builder
	for i := len(d) - 1; i >= 0; i-- {
		for j, a := range d[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			if name, ok := shortNames[a.Type]; ok {
				b.WriteString(name)
			} else {
				b.WriteString(a.Type)
			}
			b.WriteByte('=')
			if a.BER != nil {
				b.WriteByte('#')
				b.WriteString(hex.EncodeToString(a.BER))
			} else {
				writeEscaped(&b, a.Value)
			}
		}
		if i > 0 {
			b.WriteByte(',')
		}
	}
	return b.String()
}

// writeEscaped escapes a string value as RFC 4514 §2.4 asks.
func writeEscaped(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == 0:
			b.WriteString(`\00`)
			continue
		case strings.IndexByte(`"+,;<>\`, c) >= 0,
			i == 0 && (c == '#' || c == ' '),
			i == len(v)-1 && c == ' ':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
}

// Equal reports whether two names are the same name: the same RDNs in the
// same order, each with the same attributes in any order. String values
// compare as LDAP's caseIgnoreMatch does (RFC 4517 §4.2.11): case and
// runs of white space do not matter, nor white space at either end.
// Values that are not strings compare by their encoding.
func (d DN) Equal(o DN) bool {
	if len(d) != len(o) {
		return false
	}
	for i := range d {
		if !slices.Equal(rdnKeys(d[i]), rdnKeys(o[i])) {
			return false
		}
	}
	return true
}

func rdnKeys(rdn []Attribute) []string {
	keys := make([]string, len(rdn))
	for i, a := range rdn {
		if a.BER != nil {
			keys[i] = a.Type + "\x00#" + hex.EncodeToString(a.BER)
		} else {
			keys[i] = a.Type + "\x00=" + foldValue(a.Value)
		}
	}
	slices.Sort(keys)
	return keys
}

// foldValue prepares a string value for caseIgnoreMatch: white space runs
// become one space, the ends are trimmed, and case is folded.
func foldValue(v string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimFunc(v, unicode.IsSpace) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(unicode.ToUpper(r)))
	}
	return b.String()
}
