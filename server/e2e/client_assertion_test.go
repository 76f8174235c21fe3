package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"oauth2-server.dev/core"
)

// assertionKey is a client's signing key for private_key_jwt.
type assertionKey struct {
	priv jwk.Key
	jwks string
}

func newAssertionKey(t *testing.T) assertionKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(k)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, "client-key-1")
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	b, _ := json.Marshal(set)
	return assertionKey{priv: priv, jwks: string(b)}
}

// assertion signs a client assertion (RFC 7523 §3) with the given claims
// changed.
func (k assertionKey) assertion(t *testing.T, clientID, aud string, mutate func(b *jwt.Builder) *jwt.Builder) string {
	t.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Issuer(clientID).Subject(clientID).Audience([]string{aud}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(randomHex(12))
	if mutate != nil {
		b = mutate(b)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), k.priv))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func TestPrivateKeyJWT(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		key := newAssertionKey(t)
		c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a","token_endpoint_auth_method":"private_key_jwt",
			"token_endpoint_auth_signing_alg":"ES256","jwks":`+key.jwks+`}`)
		if c.Secret != "" {
			t.Fatal("a private_key_jwt client must not receive a secret")
		}
		tokenURL := s.issuer + "/oauth/token"
		request := func(assertion string) (int, map[string]any) {
			resp, m := postForm(t, tokenURL, url.Values{
				"grant_type": {"client_credentials"}, "client_assertion_type": {core.AssertionTypeJWTBearer},
				"client_assertion": {assertion},
			}, "", "")
			return resp.StatusCode, m
		}

		valid := key.assertion(t, c.ID, tokenURL, nil)
		if status, m := request(valid); status != 200 || m["access_token"] == nil {
			t.Fatalf("valid assertion: %d %v", status, m)
		}
		t.Run("a replayed assertion is refused", func(t *testing.T) {
			if status, m := request(valid); status != 401 || m["error"] != "invalid_client" {
				t.Fatalf("replay: %d %v", status, m)
			}
		})
		t.Run("the issuer as audience is accepted", func(t *testing.T) {
			if status, m := request(key.assertion(t, c.ID, s.issuer, nil)); status != 200 {
				t.Fatalf("aud=issuer: %d %v", status, m)
			}
		})
		other := newAssertionKey(t)
		bad := []struct {
			name      string
			assertion string
		}{
			{"wrong audience", key.assertion(t, c.ID, "https://elsewhere.example", nil)},
			{"expired", key.assertion(t, c.ID, tokenURL, func(b *jwt.Builder) *jwt.Builder {
				return b.Expiration(time.Now().Add(-5 * time.Minute))
			})},
			{"lifetime too long", key.assertion(t, c.ID, tokenURL, func(b *jwt.Builder) *jwt.Builder {
				return b.Expiration(time.Now().Add(24 * time.Hour))
			})},
			{"no jti", key.assertion(t, c.ID, tokenURL, func(b *jwt.Builder) *jwt.Builder { return b.JwtID("") })},
			{"sub is another client", key.assertion(t, c.ID, tokenURL, func(b *jwt.Builder) *jwt.Builder { return b.Subject("someone-else") })},
			{"signed by another key", other.assertion(t, c.ID, tokenURL, nil)},
			{"not a JWT", "garbage"},
		}
		for _, tc := range bad {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				if status, m := request(tc.assertion); status != 401 || m["error"] != "invalid_client" {
					t.Fatalf("got %d %v", status, m)
				}
			})
		}
		t.Run("the assertion also authenticates at introspection", func(t *testing.T) {
			_, tok := request(key.assertion(t, c.ID, tokenURL, nil))
			resp, m := postForm(t, s.issuer+"/oauth/introspect", url.Values{
				"token": {tok["access_token"].(string)}, "client_assertion_type": {core.AssertionTypeJWTBearer},
				"client_assertion": {key.assertion(t, c.ID, s.issuer+"/oauth/introspect", nil)},
			}, "", "")
			if resp.StatusCode != 200 || m["active"] != true {
				t.Fatalf("introspection: %d %v", resp.StatusCode, m)
			}
		})
	})
}

func TestClientSecretJWT(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a","token_endpoint_auth_method":"client_secret_jwt"}`)
		if c.Secret == "" {
			t.Fatal("a client_secret_jwt client receives a secret")
		}
		tokenURL := s.issuer + "/oauth/token"
		assertion := func(secret string, mutate func(b *jwt.Builder) *jwt.Builder) string {
			now := time.Now()
			b := jwt.NewBuilder().Issuer(c.ID).Subject(c.ID).Audience([]string{tokenURL}).
				IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(randomHex(12))
			if mutate != nil {
				b = mutate(b)
			}
			tok, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), []byte(secret)))
			if err != nil {
				t.Fatal(err)
			}
			return string(signed)
		}
		request := func(a string) (int, map[string]any) {
			resp, m := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"},
				"client_assertion_type": {core.AssertionTypeJWTBearer}, "client_assertion": {a}}, "", "")
			return resp.StatusCode, m
		}
		valid := assertion(c.Secret, nil)
		if status, m := request(valid); status != 200 {
			t.Fatalf("valid assertion: %d %v", status, m)
		}
		for name, a := range map[string]string{
			"a replayed assertion":            valid,
			"a wrong secret":                  assertion("not-the-secret-not-the-secret-00", nil),
			"an assertion for another issuer": assertion(c.Secret, func(b *jwt.Builder) *jwt.Builder { return b.Audience([]string{"https://x.example"}) }),
		} {
			t.Run(name+" is refused", func(t *testing.T) {
				if status, m := request(a); status != 401 || m["error"] != "invalid_client" {
					t.Fatalf("got %d %v", status, m)
				}
			})
		}
		t.Run("discovery advertises client_secret_jwt", func(t *testing.T) {
			_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/openid-configuration"))
			if !slices.Contains(anyStrings(m["token_endpoint_auth_methods_supported"]), "client_secret_jwt") ||
				!slices.Contains(anyStrings(m["token_endpoint_auth_signing_alg_values_supported"]), "HS256") {
				t.Fatalf("metadata = %v", m)
			}
		})
	})
}
