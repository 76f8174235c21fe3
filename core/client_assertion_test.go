package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"oauth2-server.dev/core/secret"
)

// signedAssertion builds an ES256 client assertion by hand.
func signedAssertion(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": kid})
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	sig, err := jwsbb.Sign(key, "ES256", []byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func publicJWKS(t *testing.T, key *ecdsa.PrivateKey, kid string) []byte {
	t.Helper()
	k, err := jwk.Import(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	set := jwk.NewSet()
	_ = set.AddKey(k)
	b, _ := json.Marshal(set)
	return b
}

func TestPrivateKeyJWTWithJWKSURI(t *testing.T) {
	oldKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var served atomic.Value
	served.Store(publicJWKS(t, oldKey, "k1"))
	var fetches atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(served.Load().([]byte))
	}))
	defer srv.Close()

	p, store := newTestProvider(t, Config{OutboundPrivateNetworks: loopbackNetworks})
	p.jwksCache.client = srv.Client()
	p.jwksCache.minRefetch = 0
	meta, _ := json.Marshal(map[string]any{
		"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt",
		"jwks_uri": srv.URL + "/jwks",
	})
	c, err := p.buildClient(meta)
	if err != nil {
		t.Fatal(err)
	}
	c.ID = "rp"
	if err := store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	assertion := func(key *ecdsa.PrivateKey, kid string) ClientCredentials {
		return ClientCredentials{Method: AuthMethodPrivateKeyJWT, Assertion: signedAssertion(t, key, kid, map[string]any{
			"iss": "rp", "sub": "rp", "aud": p.TokenEndpoint(), "jti": secret.Random(8),
			"exp": testNow.Add(time.Minute).Unix(),
		})}
	}

	t.Run("the key set is fetched and cached", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if _, err := p.AuthenticateClient(context.Background(), assertion(oldKey, "k1")); err != nil {
				t.Fatalf("authenticate: %v", err)
			}
		}
		if n := fetches.Load(); n != 1 {
			t.Fatalf("jwks_uri fetched %d times, want once", n)
		}
	})
	t.Run("a rotated client key is picked up by refetching", func(t *testing.T) {
		served.Store(publicJWKS(t, newKey, "k2"))
		if _, err := p.AuthenticateClient(context.Background(), assertion(newKey, "k2")); err != nil {
			t.Fatalf("authenticate with the new key: %v", err)
		}
	})
	t.Run("an oversized key set is refused", func(t *testing.T) {
		served.Store([]byte(`{"keys":[],"pad":"` + strings.Repeat("a", maxJWKSSize) + `"}`))
		p.jwksCache.entries = map[string]jwksEntry{}
		if _, err := p.AuthenticateClient(context.Background(), assertion(newKey, "k2")); err == nil {
			t.Fatal("an oversized jwks_uri document was accepted")
		}
	})
	t.Run("a key set over http is never fetched", func(t *testing.T) {
		if _, err := p.jwksCache.fetch(context.Background(), "http://example.com/jwks"); err == nil {
			t.Fatal("fetched a jwks_uri over http")
		}
	})
}
