package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const webClientMetadata = `{
	"client_name": "Test Web App",
	"redirect_uris": ["https://app.example.com/callback"],
	"grant_types": ["authorization_code", "refresh_token"],
	"token_endpoint_auth_method": "client_secret_basic"
}`

// webApp is a confidential client using x/oauth2 and go-oidc.
type webApp struct {
	s        *testServer
	client   registered
	oauth    *oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

func newWebApp(t *testing.T, s *testServer, metadata string) *webApp {
	t.Helper()
	ctx := context.Background()
	c := s.register(t, metadata)
	provider, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	redirect, _ := c.Raw["redirect_uris"].([]any)
	cfg := &oauth2.Config{
		ClientID: c.ID, ClientSecret: c.Secret, Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
	if len(redirect) > 0 {
		cfg.RedirectURL = redirect[0].(string)
	}
	// A fixed style: auto-detection retries a failed request the other
	// way and hides the first error.
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if c.Secret == "" {
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{"RS256", "ES256", "PS256", "EdDSA"}})
	return &webApp{s: s, client: c, oauth: cfg, provider: provider, verifier: verifier}
}

// authorization is one run through the authorization endpoint.
type authorization struct {
	state, nonce, verifier string
	redirect               *url.URL
}

// authorize sends the browser to the authorization endpoint and walks it
// through sign-in and consent until the server redirects to the client.
func (w *webApp) authorize(t *testing.T, b *browser, extra ...oauth2.AuthCodeOption) authorization {
	t.Helper()
	return w.authorizeWith(t, b, nil, extra...)
}

// authorizeWith is authorize with extra query parameters that may repeat,
// which oauth2.SetAuthURLParam cannot express.
func (w *webApp) authorizeWith(t *testing.T, b *browser, params url.Values, extra ...oauth2.AuthCodeOption) authorization {
	t.Helper()
	return w.authorizeAs(t, b, testUser, testPassword, params, extra...)
}

// authorizeAs is authorizeWith signing in as another user.
func (w *webApp) authorizeAs(t *testing.T, b *browser, username, password string, params url.Values, extra ...oauth2.AuthCodeOption) authorization {
	t.Helper()
	a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)}, extra...)
	u, _ := url.Parse(w.oauth.AuthCodeURL(a.state, opts...))
	q := u.Query()
	for k, v := range params {
		q[k] = append(q[k], v...)
	}
	u.RawQuery = q.Encode()
	p := b.get(u.String())
	if p.isLogin() {
		p = b.login(p, username, password)
	}
	if p.isConsent() {
		p = b.decide(p, "allow")
	}
	if p.location == nil {
		t.Fatalf("expected a redirect to the client, got %d %s:\n%s", p.status, p.url, p.body)
	}
	a.redirect = p.location
	return a
}

func (a authorization) code(t *testing.T, w *webApp) string {
	t.Helper()
	q := a.redirect.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization failed: %s: %s", e, q.Get("error_description"))
	}
	if got := q.Get("state"); got != a.state {
		t.Fatalf("state = %q, want %q", got, a.state)
	}
	// RFC 9207: iss in every authorization response.
	if got := q.Get("iss"); got != w.s.issuer {
		t.Fatalf("iss = %q, want %q", got, w.s.issuer)
	}
	return q.Get("code")
}

func (w *webApp) exchange(t *testing.T, a authorization) *oauth2.Token {
	t.Helper()
	tok, err := w.oauth.Exchange(context.Background(), a.code(t, w), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func (w *webApp) verifyIDToken(t *testing.T, tok *oauth2.Token, nonce string) *oidc.IDToken {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response has no id_token")
	}
	idt, err := w.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify id_token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return idt
}

func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want an OAuth error response, got %v", err)
	}
	return re
}

func TestAuthorizationCodeFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, webClientMetadata)
		b := newBrowser(t, s)

		a := w.authorize(t, b)
		tok := w.exchange(t, a)
		idt := w.verifyIDToken(t, tok, a.nonce)

		t.Run("id token carries the session claims", func(t *testing.T) {
			var claims struct {
				AuthTime int64  `json:"auth_time"`
				Sid      string `json:"sid"`
				CHash    string `json:"c_hash"`
				Email    string `json:"email"`
			}
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.AuthTime == 0 || claims.Sid == "" || claims.CHash == "" {
				t.Fatalf("auth_time, sid and c_hash must be set: %+v", claims)
			}
			if time.Since(time.Unix(claims.AuthTime, 0)) > time.Minute {
				t.Fatalf("auth_time %d is not the recent login", claims.AuthTime)
			}
		})

		t.Run("access token is an RFC 9068 JWT", func(t *testing.T) {
			hdr := jwtHeader(t, tok.AccessToken)
			if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES256" {
				t.Fatalf("access token header = %v, want typ at+jwt, alg ES256", hdr)
			}
			ks := oidc.NewRemoteKeySet(ctx, s.issuer+"/.well-known/jwks.json")
			if _, err := ks.VerifySignature(ctx, tok.AccessToken); err != nil {
				t.Fatalf("access token does not verify against the JWKS: %v", err)
			}
		})

		t.Run("userinfo returns the scoped claims", func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				info := userinfo(t, s, method, tok.AccessToken)
				if info.status != http.StatusOK {
					t.Fatalf("%s userinfo: status %d %v", method, info.status, info.body)
				}
				if info.body["sub"] != idt.Subject || info.body["preferred_username"] != testUser || info.body["email"] == nil {
					t.Fatalf("%s userinfo = %v", method, info.body)
				}
			}
		})

		t.Run("refresh rotates the refresh token", func(t *testing.T) {
			old := tok.RefreshToken
			if old == "" {
				t.Fatal("no refresh token issued")
			}
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			fresh, err := w.oauth.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.RefreshToken == "" || fresh.RefreshToken == old || fresh.AccessToken == tok.AccessToken {
				t.Fatal("refresh must issue a new access token and a new refresh token")
			}
			w.verifyIDToken(t, fresh, "")

			t.Run("reuse of the rotated token revokes the family", func(t *testing.T) {
				_, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
				if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
					t.Fatalf("reuse: error %q, want invalid_grant", re.ErrorCode)
				}
				_, err = w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token()
				if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
					t.Fatalf("newest token after reuse: error %q, want invalid_grant", re.ErrorCode)
				}
				if info := userinfo(t, s, http.MethodGet, fresh.AccessToken); info.status != http.StatusUnauthorized {
					t.Fatalf("access token of a revoked family: userinfo status %d, want 401", info.status)
				}
			})
		})

		t.Run("consent is remembered and prompt=none succeeds silently", func(t *testing.T) {
			a := authorization{state: "s2", verifier: oauth2.GenerateVerifier()}
			p := b.get(w.oauth.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier), oauth2.SetAuthURLParam("prompt", "none")))
			if p.location == nil {
				t.Fatalf("prompt=none with a session and consent must redirect at once, got %d %s", p.status, p.url)
			}
			a.redirect = p.location
			w.exchange(t, a)
		})

		t.Run("prompt=login asks for the password again", func(t *testing.T) {
			p := b.get(w.oauth.AuthCodeURL("s3", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "login")))
			if !p.isLogin() {
				t.Fatalf("prompt=login must show the sign-in page, got %d %s", p.status, p.url)
			}
			p = b.login(p, testUser, testPassword)
			if p.location == nil || p.location.Query().Get("code") == "" {
				t.Fatalf("after signing in again the client gets a code, got %d %s", p.status, p.url)
			}
		})

		t.Run("prompt=consent asks again", func(t *testing.T) {
			p := b.get(w.oauth.AuthCodeURL("s4", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "consent")))
			if !p.isConsent() {
				t.Fatalf("prompt=consent must show the consent page, got %d %s", p.status, p.url)
			}
		})
	})
}

func TestAuthorizationCodeReplayRevokesTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, webClientMetadata)
		a := w.authorize(t, newBrowser(t, s))
		code := a.code(t, w)
		tok, err := w.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
		if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
			t.Fatalf("replayed code: %q, want invalid_grant", re.ErrorCode)
		}
		if info := userinfo(t, s, http.MethodGet, tok.AccessToken); info.status != http.StatusUnauthorized {
			t.Fatalf("access token issued from a replayed code: userinfo status %d, want 401", info.status)
		}
		_, err = w.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh token issued from a replayed code: %q, want invalid_grant", re.ErrorCode)
		}
	})
}

func TestPublicNativeClientWithLoopbackPort(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, `{"client_name":"CLI","application_type":"native","token_endpoint_auth_method":"none",
			"redirect_uris":["http://127.0.0.1/callback"],"grant_types":["authorization_code","refresh_token"],
			"id_token_signed_response_alg":"EdDSA","access_token_format":"opaque"}`)
		if w.client.Secret != "" {
			t.Fatal("a public client must not receive a secret")
		}
		// RFC 8252 §7.3: any port on the loopback address.
		w.oauth.RedirectURL = "http://127.0.0.1:53682/callback"
		a := w.authorize(t, newBrowser(t, s))
		if a.redirect.Host != "127.0.0.1:53682" {
			t.Fatalf("redirected to %s, want the requested loopback port", a.redirect)
		}
		tok := w.exchange(t, a)
		idt := w.verifyIDToken(t, tok, a.nonce)
		if hdr := jwtHeader(t, tok.Extra("id_token").(string)); hdr["alg"] != "EdDSA" {
			t.Fatalf("id_token alg = %v, want the registered EdDSA", hdr["alg"])
		}
		if strings.Count(tok.AccessToken, ".") != 0 {
			t.Fatalf("access_token_format opaque must give an opaque token, got %q", tok.AccessToken)
		}
		if info := userinfo(t, s, http.MethodGet, tok.AccessToken); info.status != http.StatusOK || info.body["sub"] != idt.Subject {
			t.Fatalf("userinfo with an opaque token: %d %v", info.status, info.body)
		}

		t.Run("without PKCE the request is refused", func(t *testing.T) {
			p := newBrowser(t, s).get(w.oauth.AuthCodeURL("st"))
			if p.location == nil || p.location.Query().Get("error") != "invalid_request" || p.location.Query().Get("state") != "st" {
				t.Fatalf("missing PKCE: want a redirect with invalid_request and the state, got %d %v", p.status, p.location)
			}
		})
		t.Run("a wrong verifier fails the exchange", func(t *testing.T) {
			a := w.authorize(t, newBrowser(t, s))
			_, err := w.oauth.Exchange(context.Background(), a.code(t, w), oauth2.VerifierOption(oauth2.GenerateVerifier()))
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("wrong verifier: %q, want invalid_grant", re.ErrorCode)
			}
		})
	})
}

func TestClientCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.register(t, `{"client_name":"Billing","grant_types":["client_credentials"],"scope":"invoices:read invoices:write"}`)
		if _, ok := c.Raw["redirect_uris"]; ok && len(c.Raw["redirect_uris"].([]any)) != 0 {
			t.Fatalf("a client_credentials client has no redirect URIs: %v", c.Raw["redirect_uris"])
		}
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token", Scopes: []string{"invoices:read"}}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		claims := jwtClaims(t, tok.AccessToken)
		if claims["client_id"] != c.ID || claims["sub"] != c.ID || claims["scope"] != "invoices:read" || claims["iss"] != s.issuer {
			t.Fatalf("claims = %v", claims)
		}
		if tok.RefreshToken != "" {
			t.Fatal("client_credentials must not issue a refresh token")
		}

		t.Run("client_secret_post is refused for a basic client", func(t *testing.T) {
			cc := cc
			cc.AuthStyle = oauth2.AuthStyleInParams
			_, err := cc.Token(context.Background())
			if re := retrieveError(t, err); re.ErrorCode != "invalid_client" {
				t.Fatalf("got %q, want invalid_client", re.ErrorCode)
			}
		})
		t.Run("a wrong secret answers 401 with a Basic challenge", func(t *testing.T) {
			resp, body := postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, "wrong")
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("status %d %v", resp.StatusCode, body)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("errors must carry Cache-Control: no-store")
			}
		})
		t.Run("a scope outside the registration is refused", func(t *testing.T) {
			cc := cc
			cc.Scopes = []string{"admin"}
			_, err := cc.Token(context.Background())
			if re := retrieveError(t, err); re.ErrorCode != "invalid_scope" {
				t.Fatalf("got %q, want invalid_scope", re.ErrorCode)
			}
		})
	})
}

func TestMaxAgeAndLoginHint(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, webClientMetadata)
	b := newBrowser(t, s)
	w.exchange(t, w.authorize(t, b))

	t.Run("login_hint fills the username", func(t *testing.T) {
		p := newBrowser(t, s).get(w.oauth.AuthCodeURL("h", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("login_hint", "bob@example.com")))
		if !p.isLogin() || !strings.Contains(p.body, `value="bob@example.com"`) {
			t.Fatalf("sign-in page without the hint: %d %s", p.status, p.body)
		}
	})
	t.Run("a generous max_age reuses the session", func(t *testing.T) {
		p := b.get(w.oauth.AuthCodeURL("m1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("max_age", "3600")))
		if p.location == nil || p.location.Query().Get("code") == "" {
			t.Fatalf("want a code at once, got %d %s", p.status, p.url)
		}
	})
	t.Run("max_age=0 asks for the password and auth_time is fresh", func(t *testing.T) {
		a := authorization{state: "m0", nonce: "n0", verifier: oauth2.GenerateVerifier()}
		before := time.Now().Add(-time.Second).Unix()
		p := b.get(w.oauth.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier), oauth2.SetAuthURLParam("max_age", "0")))
		if !p.isLogin() {
			t.Fatalf("max_age=0 must show the sign-in page, got %d %s", p.status, p.url)
		}
		p = b.login(p, testUser, testPassword)
		if p.location == nil {
			t.Fatalf("after signing in: %d %s", p.status, p.url)
		}
		a.redirect = p.location
		tok := w.exchange(t, a)
		var claims struct {
			AuthTime int64 `json:"auth_time"`
		}
		if err := w.verifyIDToken(t, tok, a.nonce).Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if claims.AuthTime < before {
			t.Fatalf("auth_time %d predates the new sign-in at %d", claims.AuthTime, before)
		}
	})
}

// oauthS256 is a PKCE option with a fresh verifier, for requests whose
// code is never exchanged.
func oauthS256(t *testing.T) oauth2.AuthCodeOption {
	t.Helper()
	return oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
}
