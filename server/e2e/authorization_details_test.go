package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"oauth2-server.dev/core"
)

// The authorization details of these tests (RFC 9396).
const (
	rarPayment = `[{"type":"payment_initiation","actions":["initiate","status"],"locations":["https://pay.example/payments"],
		"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Smith & Sons <Ltd>",
		"creditorAccount":{"iban":"DE02100100109307118603"}}]`
	rarAccount = `[{"type":"account_information","actions":["list_accounts","read_balances"],"locations":["https://accounts.example/"]}]`
	rarBoth    = `[{"type":"account_information","actions":["list_accounts","read_balances"],"locations":["https://accounts.example/"]},
		{"type":"payment_initiation","actions":["initiate","status"],"locations":["https://pay.example/payments"],
		"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Smith & Sons <Ltd>",
		"creditorAccount":{"iban":"DE02100100109307118603"}}]`
)

// rarEnv configures the server with the types of these tests.
var rarEnv = map[string]string{"OAUTH2_AUTHORIZATION_DETAILS_TYPES": "payment_initiation,account_information"}

// sameJSON reports whether a decoded JSON value equals the JSON text want,
// whatever the order of members.
func sameJSON(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(got, w)
}

// beginAuthorization opens an authorization request of w in b, signing in when asked,
// and returns the page reached: the consent page or a redirect.
func (w *webApp) beginAuthorization(t *testing.T, b *browser, opts ...oauth2.AuthCodeOption) (authorization, page) {
	t.Helper()
	a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)}, opts...)
	p := b.get(w.oauth.AuthCodeURL(a.state, opts...))
	if p.isLogin() {
		p = b.login(p, testUser, testPassword)
	}
	return a, p
}

// allowOn presses allow on the consent page p and returns the
// authorization it completes.
func (w *webApp) allowOn(t *testing.T, b *browser, a authorization, p page) authorization {
	t.Helper()
	p = b.decide(p, "allow")
	if p.location == nil {
		t.Fatalf("no redirect to the client after consent: %d %s", p.status, p.body)
	}
	a.redirect = p.location
	return a
}

// withDetails sends authorization_details with an authorization or token
// request through x/oauth2.
func withDetails(value string) oauth2.AuthCodeOption {
	return oauth2.SetAuthURLParam("authorization_details", value)
}

func TestAuthorizationDetails(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, rarEnv)
			testAuthorizationDetails(t, s)
		})
	}
}

func testAuthorizationDetails(t *testing.T, s *testServer) {
	ctx := context.Background()
	w := newWebApp(t, s, webClientMetadata)

	t.Run("discovery advertises the configured types", func(t *testing.T) {
		for _, doc := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			_, m := doJSON(t, mustRequest(t, s.issuer+doc))
			if !equalList(m["authorization_details_types_supported"], "payment_initiation", "account_information") {
				t.Fatalf("%s: authorization_details_types_supported = %v", doc, m["authorization_details_types_supported"])
			}
		}
	})

	// The code flow through the real consent page.
	b := newBrowser(t, s)
	a, p := w.beginAuthorization(t, b, withDetails(rarPayment))
	t.Run("the consent page shows the details", func(t *testing.T) {
		if !p.isConsent() {
			t.Fatalf("expected the consent page, got %d %s", p.status, p.url)
		}
		for _, want := range []string{"payment_initiation", "<li>initiate</li>", "<li>status</li>", "https://pay.example/payments",
			"<dt>instructedAmount.amount</dt><dd>123.50</dd>", "<dt>instructedAmount.currency</dt><dd>EUR</dd>",
			"<dt>creditorAccount.iban</dt><dd>DE02100100109307118603</dd>", "Smith &amp; Sons &lt;Ltd&gt;"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("consent page lacks %q", want)
			}
		}
		if strings.Contains(p.body, "<Ltd>") {
			t.Error("a value reached the page unescaped")
		}
	})
	a = w.allowOn(t, b, a, p)
	tok := w.exchange(t, a)
	w.verifyIDToken(t, tok, a.nonce)
	t.Run("the token response carries them", func(t *testing.T) {
		if !sameJSON(t, tok.Extra("authorization_details"), rarPayment) {
			t.Fatalf("authorization_details = %v", tok.Extra("authorization_details"))
		}
	})
	t.Run("the JWT access token carries them", func(t *testing.T) {
		if !sameJSON(t, jwtClaims(t, tok.AccessToken)["authorization_details"], rarPayment) {
			t.Fatalf("claims = %v", jwtClaims(t, tok.AccessToken))
		}
	})
	t.Run("introspection returns them", func(t *testing.T) {
		status, m := introspect(t, s, w.client, tok.AccessToken)
		if status != http.StatusOK || m["active"] != true || !sameJSON(t, m["authorization_details"], rarPayment) {
			t.Fatalf("introspection: %d %v", status, m)
		}
	})
	t.Run("a refresh keeps them", func(t *testing.T) {
		refreshed, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if !sameJSON(t, refreshed.Extra("authorization_details"), rarPayment) ||
			!sameJSON(t, jwtClaims(t, refreshed.AccessToken)["authorization_details"], rarPayment) {
			t.Fatalf("refreshed token: %v", refreshed.Extra("authorization_details"))
		}
	})

	t.Run("a subset can be asked for at the token endpoint", func(t *testing.T) {
		b := newBrowser(t, s)
		a, p := w.beginAuthorization(t, b, withDetails(rarBoth))
		a = w.allowOn(t, b, a, p)
		tok, err := w.oauth.Exchange(ctx, a.code(t, w), oauth2.VerifierOption(a.verifier), withDetails(rarAccount))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if !sameJSON(t, tok.Extra("authorization_details"), rarAccount) || !sameJSON(t, jwtClaims(t, tok.AccessToken)["authorization_details"], rarAccount) {
			t.Fatalf("authorization_details = %v", tok.Extra("authorization_details"))
		}
		// The grant is unchanged: a refresh without the parameter gets
		// every approved object again.
		refreshed, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || !sameJSON(t, refreshed.Extra("authorization_details"), rarBoth) {
			t.Fatalf("refresh: %v %v", err, refreshed)
		}
	})
	t.Run("more than was approved is refused at the token endpoint", func(t *testing.T) {
		b := newBrowser(t, s)
		a, p := w.beginAuthorization(t, b, withDetails(rarAccount))
		a = w.allowOn(t, b, a, p)
		wider := strings.Replace(rarAccount, `"read_balances"`, `"read_balances","transfer_funds"`, 1)
		_, err := w.oauth.Exchange(ctx, a.code(t, w), oauth2.VerifierOption(a.verifier), withDetails(wider))
		if err == nil || retrieveError(t, err).ErrorCode != "invalid_authorization_details" {
			t.Fatalf("superset: %v", err)
		}
	})

	refused := []struct{ name, value string }{
		{"an unknown type", `[{"type":"crypto_transfer","amount":"1"}]`},
		{"malformed JSON", `[{"type":"payment_initiation"`},
		{"an object instead of an array", `{"type":"payment_initiation"}`},
		{"a type without its common fields well formed", `[{"type":"payment_initiation","actions":"initiate"}]`},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is redirected back as invalid_authorization_details", func(t *testing.T) {
			a := authorization{state: randomHex(8)}
			p := newBrowser(t, s).get(w.oauth.AuthCodeURL(a.state, oauthS256(t), withDetails(tt.value)))
			if p.location == nil || !strings.HasPrefix(p.location.String(), w.oauth.RedirectURL) {
				t.Fatalf("no redirect to the client: %d %s", p.status, p.body)
			}
			q := p.location.Query()
			if q.Get("error") != "invalid_authorization_details" || q.Get("state") != a.state || q.Get("iss") != s.issuer || q.Get("error_description") == "" {
				t.Fatalf("redirect %s", p.location)
			}
		})
	}

	t.Run("consent remembered without details still asks for a request with details", func(t *testing.T) {
		w := newWebApp(t, s, webClientMetadata)
		b := newBrowser(t, s)
		a, p := w.beginAuthorization(t, b)
		if !p.isConsent() {
			t.Fatalf("the first request did not ask for consent: %d %s", p.status, p.url)
		}
		w.exchange(t, w.allowOn(t, b, a, p))
		_, p = w.beginAuthorization(t, b)
		if p.location == nil || p.location.Query().Get("code") == "" {
			t.Fatalf("the remembered consent was not used for the same scopes: %d %s", p.status, p.url)
		}
		for range 2 {
			a, p = w.beginAuthorization(t, b, withDetails(rarAccount))
			if !p.isConsent() || !strings.Contains(p.body, "account_information") {
				t.Fatalf("a request with details skipped the consent page: %d %s", p.status, p.url)
			}
			tok := w.exchange(t, w.allowOn(t, b, a, p))
			if !sameJSON(t, tok.Extra("authorization_details"), rarAccount) {
				t.Fatalf("authorization_details = %v", tok.Extra("authorization_details"))
			}
		}
	})

	t.Run("a pushed request carries them", func(t *testing.T) {
		uri, a := w.push(t, s, url.Values{"authorization_details": {rarAccount}})
		b := newBrowser(t, s)
		p := b.get(s.issuer + "/oauth/authorize?" + url.Values{"client_id": {w.client.ID}, "request_uri": {uri}}.Encode())
		p = b.login(p, testUser, testPassword)
		if !p.isConsent() || !strings.Contains(p.body, "<li>read_balances</li>") {
			t.Fatalf("consent page for the pushed request: %d %s", p.status, p.body)
		}
		tok := w.exchange(t, w.allowOn(t, b, a, p))
		if !sameJSON(t, tok.Extra("authorization_details"), rarAccount) {
			t.Fatalf("authorization_details = %v", tok.Extra("authorization_details"))
		}
	})
	t.Run("a pushed request with an unknown type is refused at the PAR endpoint", func(t *testing.T) {
		resp, m := postForm(t, s.issuer+"/oauth/par", url.Values{
			"response_type": {"code"}, "redirect_uri": {w.oauth.RedirectURL}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
			"code_challenge_method": {"S256"}, "authorization_details": {`[{"type":"crypto_transfer"}]`},
		}, w.client.ID, w.client.Secret)
		if resp.StatusCode != http.StatusBadRequest || m["error"] != "invalid_authorization_details" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("PAR: %d %v", resp.StatusCode, m)
		}
	})

	t.Run("a signed request object carries them as a JSON array claim", func(t *testing.T) {
		key := newAssertionKey(t)
		jw := newWebApp(t, s, `{"redirect_uris":["https://app.example.com/callback"],"request_object_signing_alg":"ES256","jwks":`+key.jwks+`}`)
		a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
		var claim any
		_ = json.Unmarshal([]byte(rarPayment), &claim)
		now := time.Now()
		obj, err := jwt.NewBuilder().Issuer(jw.client.ID).Audience([]string{s.issuer}).IssuedAt(now).Expiration(now.Add(5*time.Minute)).
			JwtID(randomHex(8)).Claim("client_id", jw.client.ID).Claim("response_type", "code").Claim("redirect_uri", jw.oauth.RedirectURL).
			Claim("scope", "openid").Claim("state", a.state).Claim("nonce", a.nonce).
			Claim("code_challenge", oauth2.S256ChallengeFromVerifier(a.verifier)).Claim("code_challenge_method", "S256").
			Claim("authorization_details", claim).Build()
		if err != nil {
			t.Fatal(err)
		}
		signed, err := jwt.Sign(obj, jwt.WithKey(jwa.ES256(), key.priv))
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, s)
		p := b.get(s.issuer + "/oauth/authorize?" + url.Values{"client_id": {jw.client.ID}, "request": {string(signed)}}.Encode())
		p = b.login(p, testUser, testPassword)
		if !p.isConsent() || !strings.Contains(p.body, "DE02100100109307118603") {
			t.Fatalf("consent page for the request object: %d %s", p.status, p.body)
		}
		tok := jw.exchange(t, jw.allowOn(t, b, a, p))
		if !sameJSON(t, tok.Extra("authorization_details"), rarPayment) {
			t.Fatalf("authorization_details = %v", tok.Extra("authorization_details"))
		}
	})

	t.Run("client_credentials takes them for the types the client registered", func(t *testing.T) {
		c := s.register(t, `{"grant_types":["client_credentials"],"scope":"api","authorization_details_types":["account_information"]}`)
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader, EndpointParams: url.Values{"authorization_details": {rarAccount}}}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, tok.Extra("authorization_details"), rarAccount) || !sameJSON(t, jwtClaims(t, tok.AccessToken)["authorization_details"], rarAccount) {
			t.Fatalf("token: %v", tok.Extra("authorization_details"))
		}
		if status, m := introspect(t, s, c, tok.AccessToken); status != 200 || !sameJSON(t, m["authorization_details"], rarAccount) {
			t.Fatalf("introspection: %d %v", status, m)
		}
		cc.EndpointParams = url.Values{"authorization_details": {rarPayment}}
		if _, err := cc.Token(ctx); err == nil || retrieveError(t, err).ErrorCode != "invalid_authorization_details" {
			t.Fatalf("a type the client did not register: %v", err)
		}
	})
	t.Run("an opaque token's details are told by introspection", func(t *testing.T) {
		c := s.register(t, `{"grant_types":["client_credentials"],"scope":"api","access_token_format":"opaque"}`)
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader, EndpointParams: url.Values{"authorization_details": {rarPayment}}}
		tok, err := cc.Token(ctx)
		if err != nil || strings.Count(tok.AccessToken, ".") == 2 {
			t.Fatalf("token: %v %v", tok, err)
		}
		if status, m := introspect(t, s, c, tok.AccessToken); status != 200 || !sameJSON(t, m["authorization_details"], rarPayment) {
			t.Fatalf("introspection: %d %v", status, m)
		}
	})
	t.Run("the device flow refuses them", func(t *testing.T) {
		c := s.register(t, `{"token_endpoint_auth_method":"none","grant_types":["`+core.GrantDeviceCode+`"],"scope":"openid"}`)
		cfg := &oauth2.Config{ClientID: c.ID, Endpoint: oauth2.Endpoint{DeviceAuthURL: s.issuer + "/oauth/device_authorization",
			TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
		if _, err := cfg.DeviceAuth(ctx, withDetails(rarAccount)); err == nil || retrieveError(t, err).ErrorCode != "invalid_authorization_details" {
			t.Fatalf("device authorization with details: %v", err)
		}
	})
	t.Run("token exchange refuses them", func(t *testing.T) {
		gw := s.register(t, `{"grant_types":["`+core.GrantTokenExchange+`"],"token_exchange":{"impersonation":true}}`)
		form := url.Values{"grant_type": {core.GrantTokenExchange}, "subject_token": {tok.AccessToken},
			"subject_token_type": {core.TokenTypeAccessToken}, "authorization_details": {rarPayment}}
		resp, m := postForm(t, s.issuer+"/oauth/token", form, gw.ID, gw.Secret)
		if resp.StatusCode != http.StatusBadRequest || m["error"] != "invalid_authorization_details" {
			t.Fatalf("exchange with details: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("registration refuses a type the server does not accept", func(t *testing.T) {
		status, body := s.registerRaw(t, s.regToken, `{"grant_types":["client_credentials"],"authorization_details_types":["crypto_transfer"]}`)
		if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client_metadata") {
			t.Fatalf("register: %d %s", status, body)
		}
	})
}

func TestAuthorizationDetailsWithoutConfiguredTypes(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, webClientMetadata)
	_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/openid-configuration"))
	if _, ok := m["authorization_details_types_supported"]; ok {
		t.Fatalf("authorization_details_types_supported advertised without types: %v", m["authorization_details_types_supported"])
	}
	p := newBrowser(t, s).get(w.oauth.AuthCodeURL("st", oauthS256(t), withDetails(rarAccount)))
	if p.location == nil || p.location.Query().Get("error") != "invalid_authorization_details" {
		t.Fatalf("authorize with details: %d %v", p.status, p.location)
	}
}
