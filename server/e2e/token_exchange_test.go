package e2e

import (
	"context"
	"net/url"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"oauth2-server.dev/core"
)

func TestTokenExchange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, webClientMetadata)
		user := w.exchange(t, w.authorize(t, newBrowser(t, s)))

		gateway := s.register(t, `{"client_name":"Gateway","grant_types":["client_credentials","`+core.GrantTokenExchange+`"],
			"scope":"gw","token_exchange":{"audiences":["https://orders.example"]}}`)
		impersonator := s.register(t, `{"grant_types":["`+core.GrantTokenExchange+`"],
			"token_exchange":{"audiences":["https://orders.example"],"impersonation":true}}`)
		actor, err := (&clientcredentials.Config{ClientID: gateway.ID, ClientSecret: gateway.Secret, TokenURL: s.issuer + "/oauth/token"}).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		exchange := func(c registered, params url.Values) (int, map[string]any) {
			form := url.Values{"grant_type": {core.GrantTokenExchange}, "subject_token": {user.AccessToken},
				"subject_token_type": {core.TokenTypeAccessToken}}
			for k, v := range params {
				form[k] = v
			}
			resp, m := postForm(t, s.issuer+"/oauth/token", form, c.ID, c.Secret)
			return resp.StatusCode, m
		}

		t.Run("delegation carries the actor in act", func(t *testing.T) {
			status, m := exchange(gateway, url.Values{"actor_token": {actor.AccessToken}, "actor_token_type": {core.TokenTypeAccessToken},
				"audience": {"https://orders.example"}, "scope": {"openid profile"}})
			if status != 200 || m["issued_token_type"] != core.TokenTypeAccessToken || m["refresh_token"] != nil || m["id_token"] != nil {
				t.Fatalf("exchange: %d %v", status, m)
			}
			claims := jwtClaims(t, m["access_token"].(string))
			act, _ := claims["act"].(map[string]any)
			userClaims := jwtClaims(t, user.AccessToken)
			if claims["sub"] != userClaims["sub"] || claims["aud"] != "https://orders.example" || act["sub"] != gateway.ID || claims["scope"] != "openid profile" {
				t.Fatalf("claims = %v", claims)
			}
			if _, in := introspect(t, s, gateway, m["access_token"].(string)); in["active"] != true || in["aud"] != "https://orders.example" {
				t.Fatalf("introspection of the exchanged token: %v", in)
			}
		})
		t.Run("impersonation needs the policy", func(t *testing.T) {
			if status, m := exchange(gateway, url.Values{"audience": {"https://orders.example"}}); status != 400 || m["error"] != "unauthorized_client" {
				t.Fatalf("got %d %v", status, m)
			}
			status, m := exchange(impersonator, url.Values{"audience": {"https://orders.example"}})
			if status != 200 {
				t.Fatalf("impersonation: %d %v", status, m)
			}
			if claims := jwtClaims(t, m["access_token"].(string)); claims["act"] != nil {
				t.Fatalf("an impersonation token has no act: %v", claims)
			}
		})
		cases := []struct {
			name, want string
			params     url.Values
		}{
			{"an audience outside the policy", "invalid_target", url.Values{"actor_token": {actor.AccessToken}, "actor_token_type": {core.TokenTypeAccessToken}, "audience": {"https://billing.example"}}},
			{"a wider scope", "invalid_scope", url.Values{"actor_token": {actor.AccessToken}, "actor_token_type": {core.TokenTypeAccessToken}, "scope": {"openid admin"}}},
			{"an actor token of another client", "invalid_grant", url.Values{"actor_token": {user.AccessToken}, "actor_token_type": {core.TokenTypeAccessToken}}},
			{"a subject token that is not a token", "invalid_grant", url.Values{"subject_token": {"nope"}, "actor_token": {actor.AccessToken}, "actor_token_type": {core.TokenTypeAccessToken}}},
			{"a missing subject token type", "invalid_request", url.Values{"subject_token_type": {""}}},
		}
		for _, tc := range cases {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				if status, m := exchange(gateway, tc.params); status != 400 || m["error"] != tc.want {
					t.Fatalf("got %d %v, want %s", status, m, tc.want)
				}
			})
		}
		t.Run("a revoked subject token cannot be exchanged", func(t *testing.T) {
			sub := w.exchange(t, w.authorize(t, newBrowser(t, s)))
			revoke(t, s, w.client, sub.AccessToken)
			if status, m := exchange(impersonator, url.Values{"subject_token": {sub.AccessToken}}); status != 400 || m["error"] != "invalid_grant" {
				t.Fatalf("got %d %v", status, m)
			}
		})
	})
}
