package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
)

// jarmResponse checks a JWT-secured authorization response (JARM §2.4) as
// a client must: the signature against the server's published keys, the
// algorithm the client registered, iss, aud and a short exp. It returns the
// response parameters the JWT carries.
func jarmResponse(t *testing.T, s *testServer, clientID, wantAlg string, params url.Values) url.Values {
	t.Helper()
	raw := params.Get("response")
	if len(params) != 1 || raw == "" {
		t.Fatalf("a JWT response carries response alone, got %v", params)
	}
	set, err := jwk.Fetch(context.Background(), s.issuer+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(set), jwt.WithIssuer(s.issuer), jwt.WithAudience(clientID), jwt.WithRequiredClaim("exp"))
	if err != nil {
		t.Fatalf("response JWT does not verify: %v", err)
	}
	if alg := jwtHeader(t, raw)["alg"]; alg != wantAlg {
		t.Fatalf("response JWT alg %v, want %s", alg, wantAlg)
	}
	// JARM §2.1: a short lifetime, at most 10 minutes recommended.
	if exp, _ := tok.Expiration(); exp.After(time.Now().Add(11 * time.Minute)) {
		t.Fatalf("response JWT expires at %s", exp)
	}
	out := url.Values{}
	for k, v := range jwtClaims(t, raw) {
		if s, ok := v.(string); ok {
			out.Set(k, s)
		}
	}
	return out
}

func TestJARM(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	ctx := context.Background()
	w := newWebApp(t, s, `{
		"redirect_uris": ["https://app.example.com/callback"],
		"grant_types": ["authorization_code", "implicit", "refresh_token"],
		"response_types": ["code", "code id_token", "code id_token token"],
		"authorization_signed_response_alg": "ES256"
	}`)
	b := newBrowser(t, s)
	mode := func(m string) oauth2.AuthCodeOption { return oauth2.SetAuthURLParam("response_mode", m) }
	responseType := func(rt string) oauth2.AuthCodeOption { return oauth2.SetAuthURLParam("response_type", rt) }

	t.Run("query.jwt carries a code that exchanges", func(t *testing.T) {
		a := w.authorize(t, b, mode("query.jwt"))
		if a.redirect.Fragment != "" {
			t.Fatalf("query.jwt answered in the fragment: %s", a.redirect)
		}
		r := jarmResponse(t, s, w.client.ID, "ES256", a.redirect.Query())
		if r.Get("state") != a.state || r.Get("code") == "" || r.Get("iss") != s.issuer {
			t.Fatalf("response claims %v", r)
		}
		tok, err := w.oauth.Exchange(ctx, r.Get("code"), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		w.verifyIDToken(t, tok, a.nonce)
	})
	t.Run("jwt means query.jwt for response_type code", func(t *testing.T) {
		a := w.authorize(t, b, mode("jwt"))
		if r := jarmResponse(t, s, w.client.ID, "ES256", a.redirect.Query()); r.Get("code") == "" {
			t.Fatalf("response claims %v", r)
		}
	})
	t.Run("fragment.jwt carries a hybrid response", func(t *testing.T) {
		a := w.authorize(t, b, mode("fragment.jwt"), responseType("code id_token"))
		r := jarmResponse(t, s, w.client.ID, "ES256", fragmentParams(t, a.redirect))
		idt, err := w.verifier.Verify(ctx, r.Get("id_token"))
		if err != nil || idt.Nonce != a.nonce || r.Get("state") != a.state {
			t.Fatalf("ID token in the response JWT: %v (%v)", err, r)
		}
		verifyCHash(t, idt, r.Get("code"))
		if _, err := w.oauth.Exchange(ctx, r.Get("code"), oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatalf("exchange: %v", err)
		}
	})
	t.Run("jwt means fragment.jwt for a hybrid response type", func(t *testing.T) {
		a := w.authorize(t, b, mode("jwt"), responseType("code id_token token"))
		r := jarmResponse(t, s, w.client.ID, "ES256", fragmentParams(t, a.redirect))
		if r.Get("access_token") == "" || r.Get("token_type") != "Bearer" || r.Get("expires_in") == "" {
			t.Fatalf("response claims %v", r)
		}
		idt, err := w.verifier.Verify(ctx, r.Get("id_token"))
		if err != nil {
			t.Fatal(err)
		}
		if err := idt.VerifyAccessToken(r.Get("access_token")); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
	})
	t.Run("form_post.jwt posts the JWT alone", func(t *testing.T) {
		nonce := randomHex(8)
		p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t), oidc.Nonce(nonce), mode("form_post.jwt")))
		if p.status != http.StatusOK || p.location != nil {
			t.Fatalf("want the form page, got %d %v", p.status, p.location)
		}
		if r := jarmResponse(t, s, w.client.ID, "ES256", p.hidden()); r.Get("code") == "" || r.Get("state") != "st" {
			t.Fatalf("response claims %v", r)
		}
	})
	t.Run("a request error is a signed JWT in the requested mode", func(t *testing.T) {
		// No PKCE: the request is refused, back at the client.
		p := b.get(w.oauth.AuthCodeURL("st", mode("jwt")))
		if p.location == nil {
			t.Fatalf("got %d", p.status)
		}
		r := jarmResponse(t, s, w.client.ID, "ES256", p.location.Query())
		if r.Get("error") != "invalid_request" || r.Get("error_description") == "" || r.Get("state") != "st" || r.Get("code") != "" {
			t.Fatalf("error claims %v", r)
		}
	})
	t.Run("a denial is a signed JWT in the fragment for a hybrid request", func(t *testing.T) {
		p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t), oidc.Nonce("n"), mode("fragment.jwt"), responseType("code id_token"),
			oauth2.SetAuthURLParam("prompt", "consent")))
		p = b.decide(p, "deny")
		if p.location == nil {
			t.Fatalf("got %d", p.status)
		}
		if r := jarmResponse(t, s, w.client.ID, "ES256", fragmentParams(t, p.location)); r.Get("error") != "access_denied" || r.Get("state") != "st" {
			t.Fatalf("error claims %v", r)
		}
	})
	t.Run("query.jwt cannot carry tokens", func(t *testing.T) {
		p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t), oidc.Nonce("n"), mode("query.jwt"), responseType("code id_token")))
		if p.location == nil {
			t.Fatalf("got %d", p.status)
		}
		if r := jarmResponse(t, s, w.client.ID, "ES256", fragmentParams(t, p.location)); r.Get("error") != "invalid_request" {
			t.Fatalf("error claims %v", r)
		}
	})
	t.Run("a client that registered no algorithm gets RS256", func(t *testing.T) {
		plain := newWebApp(t, s, webClientMetadata)
		a := plain.authorize(t, b, mode("jwt"))
		if r := jarmResponse(t, s, plain.client.ID, "RS256", a.redirect.Query()); r.Get("code") == "" {
			t.Fatalf("response claims %v", r)
		}
	})
}
