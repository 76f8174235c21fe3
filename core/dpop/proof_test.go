package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

var (
	testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	enc     = base64.RawURLEncoding
)

const tokenURL = "https://id.example.com/oauth/token"

// testKey is a client's proof key.
type testKey struct {
	alg  string
	priv crypto.Signer
	// jwk is the public key as a JWK object.
	jwk map[string]any
}

// RSA key generation is slow; the keys are made once.
var rsaKeys = sync.OnceValues(func() (map[int]*rsa.PrivateKey, error) {
	out := map[int]*rsa.PrivateKey{}
	for _, bits := range []int{1024, 2048} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		out[bits] = k
	}
	return out, nil
})

func newKey(t testing.TB, alg string) testKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		keys, kerr := rsaKeys()
		if kerr != nil {
			t.Fatal(kerr)
		}
		priv = keys[2048]
	}
	if err != nil {
		t.Fatal(err)
	}
	return testKey{alg: alg, priv: priv, jwk: publicJWK(t, priv.Public())}
}

func publicJWK(t testing.TB, pub crypto.PublicKey) map[string]any {
	t.Helper()
	k, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(k)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (k testKey) header() map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.jwk}
}

func validClaims() map[string]any {
	return map[string]any{"jti": "jti-1", "htm": "POST", "htu": tokenURL, "iat": testNow.Unix()}
}

// sign makes a compact JWS of hdr and claims with k's private key under
// signAlg.
func (k testKey) sign(t testing.TB, signAlg string, hdr, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(hdr)
	c, _ := json.Marshal(claims)
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sig, err := jwsbb.Sign(k.priv, signAlg, []byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func (k testKey) proof(t testing.TB, hdr, claims map[string]any) string {
	return k.sign(t, k.alg, hdr, claims)
}

// thumbprint computes the RFC 7638 thumbprint from the required members
// in lexicographic order, independently of the code under test.
func thumbprint(t testing.TB, m map[string]any) string {
	t.Helper()
	var members []string
	switch m["kty"] {
	case "EC":
		members = []string{"crv", "kty", "x", "y"}
	case "RSA":
		members = []string{"e", "kty", "n"}
	case "OKP":
		members = []string{"crv", "kty", "x"}
	}
	parts := make([]string, len(members))
	for i, name := range members {
		parts[i] = `"` + name + `":"` + m[name].(string) + `"`
	}
	sum := sha256.Sum256([]byte("{" + strings.Join(parts, ",") + "}"))
	return enc.EncodeToString(sum[:])
}

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestParseAcceptsEveryAlgorithm(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			k := newKey(t, alg)
			p, err := Parse(k.proof(t, k.header(), validClaims()), Request{Method: "POST", URL: tokenURL, Now: testNow})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.JKT != thumbprint(t, k.jwk) {
				t.Errorf("JKT = %s, want the RFC 7638 thumbprint %s", p.JKT, thumbprint(t, k.jwk))
			}
			if p.JTI != "jti-1" || !p.IssuedAt.Equal(testNow) || p.Alg != alg || p.Nonce != "" {
				t.Errorf("proof = %+v", p)
			}
		})
	}
}

func TestParse(t *testing.T) {
	es := newKey(t, "ES256")
	other := newKey(t, "ES256")
	p384 := newKey(t, "ES384")
	ed := newKey(t, "EdDSA")
	rsaKeys, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	small := rsaKeys[1024]
	weak := testKey{alg: "RS256", priv: small, jwk: map[string]any{
		"kty": "RSA", "n": enc.EncodeToString(small.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(small.E)).Bytes()),
	}}
	const accessToken = "at-0123456789"
	resource := Request{Method: "GET", URL: "https://id.example.com/oauth/userinfo", AccessToken: accessToken, Now: testNow}
	resourceClaims := with(validClaims(), "htm", "GET", "htu", resource.URL, "ath", AccessTokenHash(accessToken))
	d, err := es.priv.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	privateJWK := with(es.jwk, "d", enc.EncodeToString(d))
	seg := func(s string) string { return enc.EncodeToString([]byte(s)) }
	valid := es.proof(t, es.header(), validClaims())
	parts := strings.Split(valid, ".")

	tests := []struct {
		name  string
		proof string
		req   Request // the token endpoint at testNow when zero
		want  error   // nil for acceptance
	}{
		{name: "a proof of the token request is accepted", proof: valid},
		{name: "typ as a full media type in capitals is accepted", proof: es.proof(t, with(es.header(), "typ", "Application/DPoP+JWT"), validClaims())},
		{name: "htu with a query and a fragment is accepted", proof: es.proof(t, es.header(), with(validClaims(), "htu", tokenURL+"?x=1#frag"))},
		{name: "htu with an upper-case host and the default port is accepted", proof: es.proof(t, es.header(), with(validClaims(), "htu", "HTTPS://ID.Example.COM:443/oauth/token"))},
		{name: "htu with percent-encoded unreserved characters is accepted", proof: es.proof(t, es.header(), with(validClaims(), "htu", "https://id.example.com/oauth/%74oken"))},
		{name: "iat just inside the window is accepted", proof: es.proof(t, es.header(), with(validClaims(), "iat", testNow.Add(-MaxAge+time.Second).Unix()))},
		{name: "iat a little ahead is accepted", proof: es.proof(t, es.header(), with(validClaims(), "iat", testNow.Add(Leeway).Unix()))},
		{name: "iat with a fraction is accepted", proof: es.proof(t, es.header(), with(validClaims(), "iat", float64(testNow.Unix())+0.25))},
		{name: "a proof with ath at the resource is accepted", proof: es.proof(t, es.header(), resourceClaims), req: resource},
		{name: "an EdDSA proof is accepted", proof: ed.proof(t, ed.header(), validClaims())},

		{name: "an oversized proof is refused", proof: valid + strings.Repeat("A", MaxSize), want: ErrTooLarge},
		{name: "an empty proof is refused", proof: "", want: ErrMalformed},
		{name: "two segments are refused", proof: parts[0] + "." + parts[1], want: ErrMalformed},
		{name: "a JWE-shaped value is refused", proof: "a.b.c.d.e", want: ErrMalformed},
		{name: "an unsigned proof is refused", proof: parts[0] + "." + parts[1] + ".", want: ErrMalformed},
		{name: "a header that is not base64url is refused", proof: "!!." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "a padded header is refused", proof: parts[0] + "=." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "a header that is not JSON is refused", proof: seg("typ") + "." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "a null header is refused", proof: seg("null") + "." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "claims that are an array are refused", proof: parts[0] + "." + seg("[1]") + "." + parts[2], want: ErrMalformed},
		{name: "iat as a string is refused", proof: es.proof(t, es.header(), with(validClaims(), "iat", "now")), want: ErrMalformed},
		{name: "a signature that is not base64url is refused", proof: parts[0] + "." + parts[1] + ".***", want: ErrMalformed},
		{name: "a line break inside a segment is refused", proof: parts[0] + "." + parts[1] + "." + parts[2][:8] + "\n" + parts[2][8:], want: ErrMalformed},
		{name: "typ JWT is refused", proof: es.proof(t, with(es.header(), "typ", "JWT"), validClaims()), want: ErrType},
		{name: "a missing typ is refused", proof: es.proof(t, with(es.header(), "typ", nil), validClaims()), want: ErrType},
		{name: "alg none is refused", proof: seg(`{"typ":"dpop+jwt","alg":"none","jwk":{}}`) + "." + parts[1] + ".AA", want: ErrAlgorithm},
		{name: "HMAC is refused", proof: seg(`{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}`) + "." + parts[1] + ".AA", want: ErrAlgorithm},
		{name: "a missing alg is refused", proof: es.proof(t, with(es.header(), "alg", nil), validClaims()), want: ErrAlgorithm},
		{name: "critical header parameters are refused", proof: es.proof(t, with(es.header(), "crit", []string{"exp"}), validClaims()), want: ErrCritical},
		{name: "a missing jwk is refused", proof: es.proof(t, with(es.header(), "jwk", nil), validClaims()), want: ErrKey},
		{name: "a jwk that is not an object is refused", proof: es.proof(t, with(es.header(), "jwk", "key"), validClaims()), want: ErrKey},
		{name: "a private jwk is refused", proof: es.proof(t, with(es.header(), "jwk", privateJWK), validClaims()), want: ErrPrivateKey},
		{name: "a symmetric jwk is refused", proof: es.proof(t, with(es.header(), "jwk", map[string]any{"kty": "oct", "k": "c2VjcmV0"}), validClaims()), want: ErrPrivateKey},
		{name: "a key of another curve than the alg's is refused", proof: p384.sign(t, "ES384", with(p384.header(), "alg", "ES256"), validClaims()), want: ErrKey},
		{name: "an EC key claimed for RS256 is refused", proof: es.proof(t, with(es.header(), "alg", "RS256"), validClaims()), want: ErrKey},
		{name: "an RSA key of 1024 bits is refused", proof: weak.proof(t, weak.header(), validClaims()), want: ErrKey},
		{name: "a signature by another key is refused", proof: other.proof(t, es.header(), validClaims()), want: ErrSignature},
		{name: "altered claims are refused", proof: parts[0] + "." + enc.EncodeToString(mustJSON(with(validClaims(), "jti", "jti-2"))) + "." + parts[2], want: ErrSignature},
		{name: "a missing jti is refused", proof: es.proof(t, es.header(), with(validClaims(), "jti", nil)), want: ErrMissingClaim},
		{name: "a missing htm is refused", proof: es.proof(t, es.header(), with(validClaims(), "htm", nil)), want: ErrMissingClaim},
		{name: "a missing htu is refused", proof: es.proof(t, es.header(), with(validClaims(), "htu", nil)), want: ErrMissingClaim},
		{name: "a missing iat is refused", proof: es.proof(t, es.header(), with(validClaims(), "iat", nil)), want: ErrMissingClaim},
		{name: "a negative iat is refused", proof: es.proof(t, es.header(), with(validClaims(), "iat", -1)), want: ErrMissingClaim},
		{name: "a huge iat is refused", proof: es.proof(t, es.header(), with(validClaims(), "iat", 1e300)), want: ErrMissingClaim},
		{name: "an overlong jti is refused", proof: es.proof(t, es.header(), with(validClaims(), "jti", strings.Repeat("j", 257))), want: ErrJTI},
		{name: "another method is refused", proof: es.proof(t, es.header(), with(validClaims(), "htm", "GET")), want: ErrMethod},
		{name: "the method in lower case is refused", proof: es.proof(t, es.header(), with(validClaims(), "htm", "post")), want: ErrMethod},
		{name: "another endpoint is refused", proof: es.proof(t, es.header(), with(validClaims(), "htu", "https://id.example.com/oauth/revoke")), want: ErrURL},
		{name: "another host is refused", proof: es.proof(t, es.header(), with(validClaims(), "htu", "https://evil.example.com/oauth/token")), want: ErrURL},
		{name: "another scheme is refused", proof: es.proof(t, es.header(), with(validClaims(), "htu", "http://id.example.com/oauth/token")), want: ErrURL},
		{name: "a relative htu is refused", proof: es.proof(t, es.header(), with(validClaims(), "htu", "/oauth/token")), want: ErrURL},
		{name: "an expired proof is refused", proof: es.proof(t, es.header(), with(validClaims(), "iat", testNow.Add(-MaxAge).Unix())), want: ErrExpired},
		{name: "a proof from the future is refused", proof: es.proof(t, es.header(), with(validClaims(), "iat", testNow.Add(Leeway+time.Second).Unix())), want: ErrFuture},
		{name: "a resource proof without ath is refused", proof: es.proof(t, es.header(), with(resourceClaims, "ath", nil)), req: resource, want: ErrAccessToken},
		{name: "a resource proof for another token is refused", proof: es.proof(t, es.header(), with(resourceClaims, "ath", AccessTokenHash("other"))), req: resource, want: ErrAccessToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req.URL == "" {
				req = Request{Method: "POST", URL: tokenURL, Now: testNow}
			}
			p, err := Parse(tt.proof, req)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !ValidThumbprint(p.JKT) {
					t.Fatalf("JKT %q is not a thumbprint", p.JKT)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %+v, %v; want %v", p, err, tt.want)
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestParseReturnsTheNonce(t *testing.T) {
	k := newKey(t, "ES256")
	p, err := Parse(k.proof(t, k.header(), with(validClaims(), "nonce", "n-1")), Request{Method: "POST", URL: tokenURL, Now: testNow})
	if err != nil || p.Nonce != "n-1" {
		t.Fatalf("Parse = %+v, %v; want the nonce n-1", p, err)
	}
}

func TestValidThumbprint(t *testing.T) {
	sum := sha256.Sum256([]byte("k"))
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "a SHA-256 in base64url", in: enc.EncodeToString(sum[:]), want: true},
		{name: "empty", in: ""},
		{name: "padded", in: base64.URLEncoding.EncodeToString(sum[:])},
		{name: "standard base64 alphabet", in: "+" + enc.EncodeToString(sum[:])[1:]},
		{name: "too short", in: enc.EncodeToString(sum[:31])},
		{name: "not base64", in: strings.Repeat("*", 43)},
		{name: "with a line break", in: enc.EncodeToString(sum[:])[:20] + "\n" + enc.EncodeToString(sum[:])[20:42]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidThumbprint(tt.in); got != tt.want {
				t.Fatalf("ValidThumbprint(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAccessTokenHash(t *testing.T) {
	// RFC 9449 §7.1 example: the ath of this access token.
	const token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	if got, want := AccessTokenHash(token), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"; got != want {
		t.Fatalf("AccessTokenHash = %s, want %s", got, want)
	}
}
