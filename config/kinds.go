package config

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// kind is how settings of one Go type are read from the environment and
// from the file, and shown in the README. A value that does not read at
// all is a want error; one that reads but holds a part no setting takes
// (a network, a host, a budget) is an error that names that part.
type kind[T any] struct {
	// text reads the environment's form.
	text func(string) (T, error)
	// file reads the file's form: the YAML package decodes the node as
	// it would into a Go value, and the same rules as text's follow.
	file func(*yaml.Node) (T, error)
	// show renders a value for the README, "" for none.
	show func(T) string
}

// want says what a value that could not be read at all should have been.
// Load names the setting and the value, and checks nothing more: the rest
// would be judged against defaults the operator did not mean.
type want string

func (w want) Error() string { return "want " + string(w) }

// refusal is a message that says everything itself, the setting's name
// included.
type refusal string

func (r refusal) Error() string { return string(r) }

// decoded reads a node the way the YAML package decodes it into R, then
// turns that into T.
func decoded[R, T any](conv func(R) (T, error), w want) func(*yaml.Node) (T, error) {
	return func(n *yaml.Node) (T, error) {
		var raw R
		if err := n.Decode(&raw); err != nil {
			var zero T
			return zero, w
		}
		return conv(raw)
	}
}

func same[T any](v T) (T, error) { return v, nil }

func code(s string) string { return "`" + s + "`" }

// splitList splits an environment list at commas and spaces.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

var (
	textKind = kind[string]{
		text: same[string],
		file: decoded(same[string], "a string"),
		show: func(v string) string {
			if v == "" {
				return ""
			}
			return code(v)
		},
	}
	flagKind = kind[bool]{
		text: func(s string) (bool, error) {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return false, want("1 or 0")
			}
			return b, nil
		},
		file: decoded(same[bool], "true or false"),
		show: func(v bool) string {
			if v {
				return code("1")
			}
			return code("0")
		},
	}
	countKind = kind[int]{
		text: func(s string) (int, error) {
			n, err := strconv.Atoi(s)
			if err != nil {
				return 0, want("a whole number")
			}
			return n, nil
		},
		file: decoded(same[int], "a whole number"),
		show: func(v int) string { return code(strconv.Itoa(v)) },
	}
	byteKind = kind[int64]{
		text: func(s string) (int64, error) {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, want("a number of bytes")
			}
			return n, nil
		},
		file: decoded(same[int64], "a number of bytes"),
		show: func(v int64) string { return code(strconv.FormatInt(v, 10)) },
	}
	durationKind = kind[time.Duration]{
		text: func(s string) (time.Duration, error) {
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, want("a duration such as 15m or 1h")
			}
			return d, nil
		},
		file: decoded(same[time.Duration], "a duration such as 15m or 1h"),
		show: func(d time.Duration) string { return code(shortDuration(d)) },
	}
	listKind = kind[[]string]{
		text: func(s string) ([]string, error) { return splitList(s), nil },
		file: decoded(same[[]string], "a list"),
		show: func(v []string) string {
			if len(v) == 0 {
				return ""
			}
			return code(strings.Join(v, ","))
		},
	}
	networkKind = kind[[]netip.Prefix]{
		text: func(s string) ([]netip.Prefix, error) { return parseNetworks(splitList(s)) },
		file: decoded(parseNetworks, "a list of CIDRs or IPs"),
		show: func(v []netip.Prefix) string {
			if len(v) == 0 {
				return ""
			}
			s := make([]string, len(v))
			for i, p := range v {
				s[i] = p.String()
			}
			return code(strings.Join(s, ","))
		},
	}
	hostKind = kind[[]string]{
		text: func(s string) ([]string, error) { return requestURIHosts(splitList(s)) },
		file: decoded(requestURIHosts, "a list of hosts"),
		show: listKind.show,
	}
	rateKind = kind[Rate]{
		text: parseRate,
		file: decoded(parseRate, "COUNT/PERIOD:BURST, for example 50/s:100"),
		show: func(r Rate) string { return code(r.String()) },
	}
	issuersKind = kind[[]TrustedIssuer]{
		text: func(s string) ([]TrustedIssuer, error) {
			var v []TrustedIssuer
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return nil, want(fmt.Sprintf("a JSON array of {issuer, jwks or jwks_uri, clients}: %v", err))
			}
			return v, nil
		},
		file: decodeIssuers,
		show: func([]TrustedIssuer) string { return "" },
	}
	keyKind = kind[[]byte]{
		text: parseKey,
		file: decoded(parseKey, "a base64 string"),
		show: func([]byte) string { return "" },
	}
	levelKind = kind[slog.Level]{
		text: parseLevel,
		file: decoded(parseLevel, "debug, info, warn or error"),
		show: func(l slog.Level) string { return code(strings.ToLower(l.String())) },
	}
)

// parseKey decodes the key-encryption key: 32 bytes, in standard or
// URL-safe base64, padded or not.
func parseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		k, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil || len(k) != 32 {
		return nil, refusal("OAUTH2_KEY_ENCRYPTION_KEY must be 32 random bytes, base64 encoded (openssl rand -base64 32): it seals the signing keys and keys cookie signatures")
	}
	return k, nil
}

// parseLevel reads one of the four level names, in lower case.
func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
}

// decodeIssuers reads trusted issuers from the file, refusing fields they
// do not have as the rest of the file does.
func decodeIssuers(n *yaml.Node) ([]TrustedIssuer, error) {
	fields := map[string]bool{"issuer": true, "jwks": true, "jwks_uri": true, "clients": true}
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			if item.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(item.Content); i += 2 {
				if k := item.Content[i]; !fields[k.Value] {
					return nil, fmt.Errorf("line %d: field %q: want issuer, jwks, jwks_uri or clients", k.Line, k.Value)
				}
			}
		}
	}
	var v []TrustedIssuer
	if err := n.Decode(&v); err != nil {
		return nil, want("a list of {issuer, jwks or jwks_uri, clients}")
	}
	return v, nil
}

// shortDuration writes d as an operator would: 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseNetworks parses CIDRs and single IPs (as the network of that
// address alone). It returns nil for nil alone, so that a list set empty
// is told from one not set.
func parseNetworks(list []string) ([]netip.Prefix, error) {
	if list == nil {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, n := range list {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an IP nor a CIDR", n)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// requestURIHosts checks the entries of the request_uri host allow-list
// and returns them in lower case.
func requestURIHosts(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, h := range list {
		norm, ok := requestURIHost(h)
		if !ok {
			return nil, fmt.Errorf("%q must be a host name or IP address, optionally with :port, and nothing else", h)
		}
		out = append(out, norm)
	}
	return out, nil
}

// requestURIHost checks an entry of the request_uri host allow-list and
// returns it in lower case: a DNS name or an IP literal (IPv6 in brackets
// when a port follows), optionally with a port; no scheme, path, user or
// wildcard.
func requestURIHost(entry string) (string, bool) {
	entry = strings.ToLower(strings.TrimSpace(entry))
	host, port, err := net.SplitHostPort(entry)
	if err != nil {
		host, port = entry, ""
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", false
		}
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return entry, true
	}
	if host == "" || len(host) > 253 {
		return "", false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", false
			}
		}
	}
	return entry, true
}

// Rate is a rate-limit budget: Count requests per Per, with bursts up to
// Burst.
type Rate struct {
	Count int
	Per   time.Duration
	Burst int
}

// String writes r as the settings write it.
func (r Rate) String() string {
	per := shortDuration(r.Per)
	switch r.Per {
	case time.Second:
		per = "s"
	case time.Minute:
		per = "m"
	case time.Hour:
		per = "h"
	}
	return fmt.Sprintf("%d/%s:%d", r.Count, per, r.Burst)
}

// parseRate reads "COUNT/PERIOD:BURST", PERIOD being s, m, h or a Go
// duration ("50/s:100", "5/m:10", "20/10s:40"); without ":BURST" the burst
// is COUNT.
func parseRate(s string) (Rate, error) {
	bad := fmt.Errorf("%q: want COUNT/PERIOD:BURST, for example 50/s:100", s)
	spec, burstText, hasBurst := strings.Cut(s, ":")
	countText, perText, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, bad
	}
	count, err := strconv.Atoi(countText)
	if err != nil || count <= 0 {
		return Rate{}, bad
	}
	var per time.Duration
	switch perText {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		if per, err = time.ParseDuration(perText); err != nil || per <= 0 {
			return Rate{}, bad
		}
	}
	burst := count
	if hasBurst {
		if burst, err = strconv.Atoi(burstText); err != nil || burst <= 0 {
			return Rate{}, bad
		}
	}
	return Rate{Count: count, Per: per, Burst: burst}, nil
}
