package e2e

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwt"

	"oauth2-server.dev/core"
	"oauth2-server.dev/server/internal/app"
)

func TestJWTBearerGrant(t *testing.T) {
	partner := newAssertionKey(t)
	stranger := newAssertionKey(t)
	trusted, _ := json.Marshal([]map[string]any{{"issuer": "https://partner.example", "jwks": partner.jwks}})
	s := startServer(t, "sqlite", map[string]string{"OAUTH2_TRUSTED_ISSUERS": string(trusted)})
	c := s.register(t, `{"grant_types":["`+core.GrantJWTBearer+`"],"scope":"orders:read"}`)
	tokenURL := s.issuer + "/oauth/token"
	grant := func(assertion string) (int, map[string]any) {
		resp, m := postForm(t, tokenURL, url.Values{"grant_type": {core.GrantJWTBearer}, "assertion": {assertion}, "scope": {"orders:read"}}, c.ID, c.Secret)
		return resp.StatusCode, m
	}
	fromPartner := func(mutate func(b *jwt.Builder) *jwt.Builder) string {
		return partner.assertion(t, "https://partner.example", tokenURL, func(b *jwt.Builder) *jwt.Builder {
			b = b.Subject("partner-user-7")
			if mutate != nil {
				b = mutate(b)
			}
			return b
		})
	}

	valid := fromPartner(nil)
	status, m := grant(valid)
	if status != 200 {
		t.Fatalf("grant: %d %v", status, m)
	}
	if claims := jwtClaims(t, m["access_token"].(string)); claims["sub"] != "partner-user-7" || claims["client_id"] != c.ID || claims["scope"] != "orders:read" {
		t.Fatalf("claims = %v", claims)
	}
	cases := []struct{ name, assertion string }{
		{"a replayed assertion", valid},
		{"an untrusted issuer", stranger.assertion(t, "https://stranger.example", tokenURL, nil)},
		{"a trusted issuer name signed by another key", stranger.assertion(t, "https://partner.example", tokenURL, nil)},
		{"another audience", partner.assertion(t, "https://partner.example", "https://elsewhere.example", nil)},
		{"no subject", fromPartner(func(b *jwt.Builder) *jwt.Builder { return b.Subject("") })},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if status, m := grant(tc.assertion); status != 400 || m["error"] != "invalid_grant" {
				t.Fatalf("got %d %v", status, m)
			}
		})
	}
	t.Run("discovery advertises the grant when an issuer is trusted", func(t *testing.T) {
		_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/openid-configuration"))
		if !slices.Contains(anyStrings(m["grant_types_supported"]), core.GrantJWTBearer) {
			t.Fatalf("grant_types_supported = %v", m["grant_types_supported"])
		}
		plain := startServer(t, "sqlite", nil)
		_, m = doJSON(t, mustRequest(t, plain.issuer+"/.well-known/openid-configuration"))
		if slices.Contains(anyStrings(m["grant_types_supported"]), core.GrantJWTBearer) {
			t.Fatal("without trusted issuers the JWT bearer grant must not be advertised")
		}
	})
}

func TestJWTBearerGrantFromIssuerJWKSURI(t *testing.T) {
	partner := newAssertionKey(t)
	keys := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write([]byte(partner.jwks))
	}))
	t.Cleanup(keys.Close)
	roots := x509.NewCertPool()
	roots.AddCert(keys.Certificate())
	// The partner's keys are on loopback, which no URL a client registers
	// may reach here: the operator's own setting is reached as written.
	trusted, _ := json.Marshal([]map[string]any{{"issuer": "https://partner.example", "jwks_uri": keys.URL + "/jwks"}})
	s := startServerWith(t, "sqlite", map[string]string{"OAUTH2_TRUSTED_ISSUERS": string(trusted)}, nil, app.WithOutboundRoots(roots))
	c := s.register(t, `{"grant_types":["`+core.GrantJWTBearer+`"],"scope":"orders:read"}`)
	tokenURL := s.issuer + "/oauth/token"
	assertion := partner.assertion(t, "https://partner.example", tokenURL, func(b *jwt.Builder) *jwt.Builder { return b.Subject("partner-user-8") })
	resp, m := postForm(t, tokenURL, url.Values{"grant_type": {core.GrantJWTBearer}, "assertion": {assertion}, "scope": {"orders:read"}}, c.ID, c.Secret)
	if resp.StatusCode != 200 {
		t.Fatalf("grant: %d %v", resp.StatusCode, m)
	}
	if claims := jwtClaims(t, m["access_token"].(string)); claims["sub"] != "partner-user-8" {
		t.Fatalf("claims = %v", claims)
	}
}
