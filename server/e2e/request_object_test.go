package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
)

func TestRequestObjects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		key := newAssertionKey(t)
		w := newWebApp(t, s, `{"redirect_uris":["https://app.example.com/callback"],"grant_types":["authorization_code","refresh_token"],
			"request_object_signing_alg":"ES256","jwks":`+key.jwks+`}`)
		// object signs a request object carrying the authorization
		// parameters.
		object := func(signer assertionKey, a authorization, jti string) string {
			now := time.Now()
			b := jwt.NewBuilder().Issuer(w.client.ID).Audience([]string{s.issuer}).IssuedAt(now).Expiration(now.Add(5*time.Minute)).JwtID(jti).
				Claim("client_id", w.client.ID).Claim("response_type", "code").Claim("redirect_uri", w.oauth.RedirectURL).
				Claim("scope", "openid profile").Claim("state", a.state).Claim("nonce", a.nonce).
				Claim("code_challenge", oauth2.S256ChallengeFromVerifier(a.verifier)).Claim("code_challenge_method", "S256")
			tok, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), signer.priv))
			if err != nil {
				t.Fatal(err)
			}
			return string(signed)
		}
		fresh := func() authorization {
			return authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
		}
		authorizeURL := func(request string, extra url.Values) string {
			q := url.Values{"client_id": {w.client.ID}, "request": {request}}
			for k, v := range extra {
				q[k] = v
			}
			return s.issuer + "/oauth/authorize?" + q.Encode()
		}

		a := fresh()
		req := object(key, a, randomHex(8))
		b := newBrowser(t, s)
		// Parameters outside the object are ignored (RFC 9101 §6.3).
		p := b.get(authorizeURL(req, url.Values{"state": {"outer-state"}, "scope": {"openid email"}}))
		p = b.decide(b.login(p, testUser, testPassword), "allow")
		if p.location == nil || p.location.Query().Get("state") != a.state {
			t.Fatalf("redirect %v: want the object's state", p.location)
		}
		a.redirect = p.location
		tok := w.exchange(t, a)
		if tok.Extra("scope") != "openid profile" {
			t.Fatalf("scope = %v, want the object's", tok.Extra("scope"))
		}

		t.Run("a replayed request object is refused", func(t *testing.T) {
			if p := newBrowser(t, s).get(authorizeURL(req, nil)); p.status != http.StatusBadRequest || p.location != nil {
				t.Fatalf("replay: %d %v", p.status, p.location)
			}
		})
		t.Run("an object signed by another key is refused", func(t *testing.T) {
			if p := newBrowser(t, s).get(authorizeURL(object(newAssertionKey(t), fresh(), randomHex(8)), nil)); p.status != http.StatusBadRequest || p.location != nil {
				t.Fatalf("foreign key: %d %v", p.status, p.location)
			}
		})
		t.Run("a request object can be pushed", func(t *testing.T) {
			a := fresh()
			resp, m := postForm(t, s.issuer+"/oauth/par", url.Values{"request": {object(key, a, randomHex(8))}}, w.client.ID, w.client.Secret)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PAR with a request object: %d %v", resp.StatusCode, m)
			}
			b := newBrowser(t, s)
			p := b.get(s.issuer + "/oauth/authorize?" + url.Values{"client_id": {w.client.ID}, "request_uri": {m["request_uri"].(string)}}.Encode())
			// Consent was given in the first flow and is remembered.
			p = b.login(p, testUser, testPassword)
			if p.location == nil || p.location.Query().Get("state") != a.state {
				t.Fatalf("redirect %v", p.location)
			}
			a.redirect = p.location
			if _, err := w.oauth.Exchange(context.Background(), a.code(t, w), oauth2.VerifierOption(a.verifier)); err != nil {
				t.Fatal(err)
			}
		})
	})
}
