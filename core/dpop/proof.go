package dpop

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// Algorithms are the JWS algorithms accepted on proofs, in the order
// discovery advertises them (dpop_signing_alg_values_supported). All are
// asymmetric: RFC 9449 §4.3 rules out "none" and MAC algorithms, whose
// key the server would have to share.
var Algorithms = []string{
	"ES256", "ES384", "ES512",
	"PS256", "PS384", "PS512",
	"RS256", "RS384", "RS512",
	"EdDSA",
}

// Bounds on proofs.
const (
	// MaxSize caps a proof. An RSA key of 8192 bits, its signature and
	// the claims fit well within it.
	MaxSize = 8 << 10
	// MaxAge is how long after its iat a proof is accepted (RFC 9449
	// §4.3 leaves the window to the server, §11.1 asks for a short one).
	MaxAge = 5 * time.Minute
	// Leeway is how far ahead of the server's clock a proof's iat may be,
	// for clients whose clocks run a little fast.
	Leeway = time.Minute
	// maxJTI bounds the jti, which the caller stores.
	maxJTI = 256
	// minRSABits and maxRSABits bound RSA proof keys: below 2048 bits a
	// key is weak, above 8192 verification gets expensive.
	minRSABits = 2048
	maxRSABits = 8192
)

// Errors of Parse. Their text is fit for an error_description.
var (
	ErrTooLarge     = errors.New("the DPoP proof is too large")
	ErrMalformed    = errors.New("the DPoP proof is not a compact JWS with a JSON header and claims")
	ErrType         = errors.New("the DPoP proof's typ must be dpop+jwt")
	ErrAlgorithm    = errors.New("the DPoP proof's alg is not supported; see dpop_signing_alg_values_supported")
	ErrCritical     = errors.New("the DPoP proof has critical header parameters the server does not understand")
	ErrKey          = errors.New("the DPoP proof's jwk header must hold a public key that fits its alg")
	ErrPrivateKey   = errors.New("the DPoP proof's jwk header must not hold a private key")
	ErrSignature    = errors.New("the DPoP proof's signature does not verify with its jwk")
	ErrMissingClaim = errors.New("the DPoP proof lacks one of jti, htm, htu and iat")
	ErrJTI          = errors.New("the DPoP proof's jti is too long")
	ErrMethod       = errors.New("the DPoP proof's htm does not match the request's method")
	ErrURL          = errors.New("the DPoP proof's htu does not match the endpoint URL")
	ErrExpired      = errors.New("the DPoP proof's iat is too old")
	ErrFuture       = errors.New("the DPoP proof's iat is in the future")
	ErrAccessToken  = errors.New("the DPoP proof's ath does not match the access token")
)

// Request is what a proof must match: the request it arrived with.
type Request struct {
	// Method is the HTTP method, for htm.
	Method string
	// URL is the endpoint's URL, for htu; a query or fragment is ignored.
	URL string
	// AccessToken, at a protected resource, is the access token presented
	// with the proof, for ath; empty at the token endpoint.
	AccessToken string
	// Now is the server's time, for iat.
	Now time.Time
}

// Proof is a proof that passed every check of RFC 9449 §4.3 that needs no
// state. The caller checks the nonce, if it demands one, and records the
// jti so the proof is used once.
type Proof struct {
	// JKT is the base64url SHA-256 JWK thumbprint (RFC 7638) of the proof
	// key: the cnf.jkt of the tokens bound to it.
	JKT      string
	JTI      string
	IssuedAt time.Time
	// Nonce is the nonce claim; empty when the proof has none.
	Nonce string
	Alg   string
}

type header struct {
	Typ  string          `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  json.RawMessage `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
}

type claims struct {
	JTI   string   `json:"jti"`
	HTM   string   `json:"htm"`
	HTU   string   `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   *string  `json:"ath"`
	Nonce string   `json:"nonce"`
}

// privateMembers are the JWK members (RFC 7518 §6) that only private or
// symmetric keys have.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Parse checks the DPoP header value raw against the request it came with
// and returns the proof, or one of the errors above.
func Parse(raw string, req Request) (*Proof, error) {
	if len(raw) > MaxSize {
		return nil, ErrTooLarge
	}
	// RFC 9449 §4.3 (2): a well-formed JWT, here a compact JWS.
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, ErrMalformed
	}
	var hdr header
	var c claims
	if decodeJSON(parts[0], &hdr) != nil || decodeJSON(parts[1], &c) != nil {
		return nil, ErrMalformed
	}
	sig, err := decodeSegment(parts[2])
	if err != nil {
		return nil, ErrMalformed
	}
	// RFC 9449 §4.3 (4): typ is dpop+jwt. RFC 7515 §4.1.9 compares media
	// types case-insensitively and lets "application/" be left out.
	if typ := strings.ToLower(hdr.Typ); typ != "dpop+jwt" && typ != "application/dpop+jwt" {
		return nil, ErrType
	}
	// RFC 9449 §4.3 (5): an asymmetric algorithm the server supports.
	if !slices.Contains(Algorithms, hdr.Alg) {
		return nil, ErrAlgorithm
	}
	// RFC 7515 §4.1.11: extensions marked critical must be understood; the
	// server understands none.
	if len(hdr.Crit) > 0 && !bytes.Equal(hdr.Crit, []byte("null")) {
		return nil, ErrCritical
	}
	key, jkt, err := proofKey(hdr.JWK, hdr.Alg)
	if err != nil {
		return nil, err
	}
	// RFC 9449 §4.3 (6): the signature verifies with the jwk header.
	if jwsbb.Verify(key, hdr.Alg, []byte(parts[0]+"."+parts[1]), sig) != nil {
		return nil, ErrSignature
	}
	// RFC 9449 §4.3 (3): the required claims are present.
	if c.JTI == "" || c.HTM == "" || c.HTU == "" || c.IAT == nil {
		return nil, ErrMissingClaim
	}
	if len(c.JTI) > maxJTI {
		return nil, ErrJTI
	}
	// RFC 9449 §4.3 (8): htm is the request's method.
	if c.HTM != req.Method {
		return nil, ErrMethod
	}
	// RFC 9449 §4.3 (9): htu is the request's URL without query and
	// fragment, compared after syntax- and scheme-based normalization.
	got, ok := normalizeURL(c.HTU)
	want, _ := normalizeURL(req.URL)
	if !ok || got != want {
		return nil, ErrURL
	}
	// RFC 9449 §4.3 (11): iat within a window around the server's time.
	iat, ok := numericDate(*c.IAT)
	if !ok {
		return nil, ErrMissingClaim
	}
	if !req.Now.Before(iat.Add(MaxAge)) {
		return nil, ErrExpired
	}
	if iat.After(req.Now.Add(Leeway)) {
		return nil, ErrFuture
	}
	// RFC 9449 §4.3 (12): at a protected resource, ath is the hash of the
	// access token the proof accompanies.
	if req.AccessToken != "" {
		if c.ATH == nil || subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(AccessTokenHash(req.AccessToken))) != 1 {
			return nil, ErrAccessToken
		}
	}
	return &Proof{JKT: jkt, JTI: c.JTI, IssuedAt: iat, Nonce: c.Nonce, Alg: hdr.Alg}, nil
}

// proofKey parses the jwk header and returns the public key and its
// thumbprint, refusing private keys and keys that do not fit alg.
func proofKey(raw json.RawMessage, alg string) (any, string, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, "", ErrKey
	}
	// RFC 9449 §4.3 (7): the jwk header holds a public key. Private and
	// symmetric members are refused by name, whatever the key type.
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return nil, "", ErrKey
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return nil, "", ErrPrivateKey
		}
	}
	k, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, "", ErrKey
	}
	var pub any
	if err := jwk.Export(k, &pub); err != nil || !keyFits(pub, alg) {
		return nil, "", ErrKey
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", ErrKey
	}
	return pub, base64.RawURLEncoding.EncodeToString(tp), nil
}

// keyFits reports whether a public key can make alg's signatures: the
// curve of each ECDSA algorithm (RFC 7518 §3.4), RSA of a sane size,
// Ed25519 for EdDSA.
func keyFits(key any, alg string) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return false
		}
		curve := k.Curve.Params().Name
		return alg == "ES256" && curve == "P-256" || alg == "ES384" && curve == "P-384" || alg == "ES512" && curve == "P-521"
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		return (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && bits >= minRSABits && bits <= maxRSABits
	case ed25519.PublicKey:
		return alg == "EdDSA" && len(k) == ed25519.PublicKeySize
	}
	return false
}

// AccessTokenHash is the ath of a proof sent with accessToken (RFC 9449
// §4.2): the base64url SHA-256 of its ASCII bytes.
func AccessTokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidThumbprint reports whether s can be a JWK SHA-256 thumbprint in
// base64url, as the dpop_jkt authorization request parameter must be
// (RFC 9449 §10).
func ValidThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := decodeSegment(s)
	return err == nil && len(b) == sha256.Size
}

// normalizeURL applies the normalizations RFC 9449 §4.3 asks for before
// htu is compared (RFC 3986 §6.2.2, §6.2.3): scheme and host in lower
// case, the scheme's default port dropped, an empty path as "/",
// percent-encoding in one canonical form; query and fragment go.
func normalizeURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return (&url.URL{Scheme: scheme, Host: host, Path: path}).String(), true
}

// numericDate turns a JWT NumericDate into a time, refusing values no
// clock will show (negative, or past the year 5000).
func numericDate(v float64) (time.Time, bool) {
	if v < 0 || v > 95617584000 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// decodeSegment decodes unpadded base64url in its one canonical form.
// encoding/base64 skips line breaks even in strict mode; a value that
// has them is not the value that was signed or issued.
func decodeSegment(seg string) ([]byte, error) {
	if strings.ContainsAny(seg, "\r\n") {
		return nil, errors.New("line break in base64url")
	}
	return base64.RawURLEncoding.Strict().DecodeString(seg)
}

func decodeJSON(seg string, v any) error {
	b, err := decodeSegment(seg)
	if err != nil {
		return err
	}
	// A header or claims set is a JSON object; json.Unmarshal would take
	// "null" for one.
	if len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(b, v)
}
