package e2e

import (
	"context"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestResourceIndicators(t *testing.T) {
	const apiA, apiB = "https://api-a.example/", "https://api-b.example/"
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, `{"redirect_uris":["https://app.example.com/callback"],"grant_types":["authorization_code","refresh_token"],
			"allowed_resources":["`+apiA+`","`+apiB+`"]}`)

		a := w.authorizeWith(t, newBrowser(t, s), url.Values{"resource": {apiA, apiB}})
		code := a.code(t, w)
		tok, err := w.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier), oauth2.SetAuthURLParam("resource", apiA))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if aud := jwtClaims(t, tok.AccessToken)["aud"]; aud != apiA {
			t.Fatalf("aud = %v, want the requested %s", aud, apiA)
		}
		t.Run("a refresh can switch to another authorized resource", func(t *testing.T) {
			resp, m := postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "resource": {apiB}}, w.client.ID, w.client.Secret)
			if resp.StatusCode != 200 || jwtClaims(t, m["access_token"].(string))["aud"] != apiB {
				t.Fatalf("refresh for %s: %d %v", apiB, resp.StatusCode, m)
			}
			resp, m = postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}, "resource": {"https://other.example/"}}, w.client.ID, w.client.Secret)
			if resp.StatusCode != 400 || m["error"] != "invalid_target" {
				t.Fatalf("refresh for an unauthorized resource: %d %v", resp.StatusCode, m)
			}
		})
		t.Run("without a resource the token covers every authorized one", func(t *testing.T) {
			a := w.authorizeWith(t, newBrowser(t, s), url.Values{"resource": {apiA, apiB}})
			tok := w.exchange(t, a)
			aud, _ := jwtClaims(t, tok.AccessToken)["aud"].([]any)
			if len(aud) != 2 {
				t.Fatalf("aud = %v, want both resources", jwtClaims(t, tok.AccessToken)["aud"])
			}
		})
		t.Run("a resource the client may not use is refused at authorize", func(t *testing.T) {
			p := newBrowser(t, s).get(w.oauth.AuthCodeURL("st", oauthS256(t), oauth2.SetAuthURLParam("resource", "https://evil.example/")))
			if p.location == nil || p.location.Query().Get("error") != "invalid_target" {
				t.Fatalf("got %d %v", p.status, p.location)
			}
		})
		t.Run("client_credentials with a resource", func(t *testing.T) {
			c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a","allowed_resources":["`+apiA+`"]}`)
			cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token",
				EndpointParams: url.Values{"resource": {apiA}}}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if aud := jwtClaims(t, tok.AccessToken)["aud"]; aud != apiA {
				t.Fatalf("aud = %v", aud)
			}
			cc.EndpointParams = url.Values{"resource": {apiB}}
			if _, err := cc.Token(ctx); err == nil || retrieveError(t, err).ErrorCode != "invalid_target" {
				t.Fatalf("unauthorized resource: %v", err)
			}
		})
	})
}
