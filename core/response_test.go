package core

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"oauth2-server.dev/core/pkce"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

func TestCanonicalResponseType(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{name: "code stays code", in: "code", want: "code", wantOK: true},
		{name: "hybrid values are put in canonical order", in: "token id_token code", want: "code id_token token", wantOK: true},
		{name: "code token keeps its order", in: "code token", want: "code token", wantOK: true},
		{name: "id_token before code is reordered", in: "id_token code", want: "code id_token", wantOK: true},
		{name: "implicit token is known but not hybrid", in: "token", want: "token", wantOK: true},
		{name: "repeated value is refused", in: "code code"},
		{name: "double space is refused", in: "code  token"},
		{name: "unknown value is refused", in: "code none"},
		{name: "empty is refused", in: ""},
		{name: "tab separator is refused", in: "code\ttoken"},
		{name: "upper case is refused", in: "CODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := canonicalResponseType(tt.in)
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("canonicalResponseType(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestResolveResponseMode(t *testing.T) {
	tests := []struct {
		name      string
		requested string
		tokens    bool
		want      string
		wantErr   bool
	}{
		{name: "code defaults to query", want: ResponseModeQuery},
		{name: "hybrid defaults to fragment", tokens: true, want: ResponseModeFragment},
		{name: "code may ask for fragment", requested: "fragment", want: ResponseModeFragment},
		{name: "hybrid may ask for form_post", requested: "form_post", tokens: true, want: ResponseModeFormPost},
		{name: "hybrid may not use query and answers in fragment", requested: "query", tokens: true, want: ResponseModeFragment, wantErr: true},
		{name: "jwt means query.jwt for code", requested: "jwt", want: ResponseModeQueryJWT},
		{name: "jwt means fragment.jwt for hybrid", requested: "jwt", tokens: true, want: ResponseModeFragmentJWT},
		{name: "query.jwt serves code", requested: "query.jwt", want: ResponseModeQueryJWT},
		{name: "query.jwt cannot carry tokens and answers in fragment.jwt", requested: "query.jwt", tokens: true, want: ResponseModeFragmentJWT, wantErr: true},
		{name: "form_post.jwt serves hybrid", requested: "form_post.jwt", tokens: true, want: ResponseModeFormPostJWT},
		{name: "unknown mode answers in the default", requested: "web_message", want: ResponseModeQuery, wantErr: true},
		{name: "unknown mode of a hybrid request answers in fragment", requested: "web_message", tokens: true, want: ResponseModeFragment, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveResponseMode(tt.requested, tt.tokens)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("resolveResponseMode(%q, %v) = %q, %v; want %q, error %v", tt.requested, tt.tokens, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// authzFixture is a provider with a signed-in user who consented to a
// hybrid client.
type authzFixture struct {
	p     *Provider
	store *testStore
	sess  *ports.Session
}

const (
	hybridClient   = "hybrid"
	hybridSecret   = "hybrid-secret-0123456789"
	hybridRedirect = "https://rp.example/cb"
)

func newAuthzFixture(t testing.TB) *authzFixture {
	t.Helper()
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	if _, err := p.EnsureClient(ctx, hybridClient, hybridSecret, []byte(`{"redirect_uris":["`+hybridRedirect+`"],
		"grant_types":["authorization_code","implicit"],
		"response_types":["code","code id_token","token code","code id_token token"],
		"authorization_signed_response_alg":"ES256","id_token_signed_response_alg":"PS256"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnsureClient(ctx, "plain", "plain-secret-0123456789", []byte(`{"redirect_uris":["`+hybridRedirect+`"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateUser(ctx, &ports.User{ID: "u1", Tenant: p.cfg.Tenant, Username: "alice", Email: "alice@example.com", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	sess := &ports.Session{ID: "s1", Tenant: p.cfg.Tenant, UserID: "u1", AuthTime: testNow.Add(-1), CreatedAt: testNow, ExpiresAt: testNow.Add(p.cfg.SessionTTL)}
	for _, c := range []string{hybridClient, "plain"} {
		if err := store.SaveConsent(ctx, &ports.Consent{Tenant: p.cfg.Tenant, UserID: "u1", ClientID: c, Scope: "openid profile email offline_access", GrantedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	return &authzFixture{p: p, store: store, sess: sess}
}

const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// params is an authorization request of the hybrid client; kv override
// or, with an empty value, remove parameters.
func (f *authzFixture) params(kv ...string) url.Values {
	v := url.Values{
		"client_id": {hybridClient}, "redirect_uri": {hybridRedirect}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n-0S6"},
		"code_challenge": {pkce.Challenge(testVerifier)}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

func (f *authzFixture) start(t testing.TB, params url.Values) *AuthorizeResult {
	t.Helper()
	res, err := f.p.StartAuthorization(context.Background(), params, f.sess)
	if err != nil {
		t.Fatalf("StartAuthorization: %v", err)
	}
	return res
}

// response returns the parameters of an authorization response and where
// they travelled: query, fragment or form.
func response(t testing.TB, res *AuthorizeResult) (url.Values, string) {
	t.Helper()
	if res.FormPost != nil {
		return res.FormPost.Params, "form"
	}
	u, err := url.Parse(res.RedirectURL)
	if err != nil || !strings.HasPrefix(res.RedirectURL, hybridRedirect) {
		t.Fatalf("redirect %q", res.RedirectURL)
	}
	if u.Fragment != "" {
		if u.RawQuery != "" {
			t.Fatalf("a fragment response also has a query: %q", res.RedirectURL)
		}
		q, err := url.ParseQuery(u.EscapedFragment())
		if err != nil {
			t.Fatal(err)
		}
		return q, "fragment"
	}
	return u.Query(), "query"
}

// verified checks a JWT of the provider's key set and returns its header
// algorithm and claims.
func verified(t testing.TB, p *Provider, jwt string) (string, map[string]any) {
	t.Helper()
	hdr, payload, err := p.keys.Verify(jwt)
	if err != nil {
		t.Fatalf("verify %q: %v", jwt, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return hdr.Alg, claims
}

func TestHybridResponses(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	redeem := func(code string) (*TokenResponse, error) {
		return f.p.Token(ctx, TokenRequest{
			Client: ClientCredentials{ID: hybridClient, Secret: hybridSecret, Method: ports.AuthMethodSecretBasic},
			Form:   url.Values{"grant_type": {GrantAuthorizationCode}, "code": {code}, "redirect_uri": {hybridRedirect}, "code_verifier": {testVerifier}},
		})
	}

	t.Run("code id_token returns an ID token with c_hash in the fragment", func(t *testing.T) {
		q, where := response(t, f.start(t, f.params("response_type", "id_token code")))
		if where != "fragment" || q.Get("code") == "" || q.Get("state") != "st" || q.Get("iss") != f.p.cfg.Issuer || q.Get("access_token") != "" {
			t.Fatalf("%s response %v", where, q)
		}
		alg, claims := verified(t, f.p, q.Get("id_token"))
		if alg != "PS256" {
			t.Errorf("ID token alg %s, want the registered PS256", alg)
		}
		if claims["c_hash"] != halfHash(alg, q.Get("code")) || claims["nonce"] != "n-0S6" || claims["aud"] != hybridClient || claims["sid"] == nil {
			t.Fatalf("ID token claims %v", claims)
		}
		if _, ok := claims["at_hash"]; ok {
			t.Error("at_hash without an access token")
		}
		if _, ok := claims["email"]; ok {
			t.Error("the front-channel ID token carries scope claims")
		}
	})

	t.Run("code id_token token binds both hashes and records the access token under the code's grant", func(t *testing.T) {
		res := f.start(t, f.params("response_type", "code id_token token"))
		if strings.Join(res.Issued, ",") != "access_token,id_token" {
			t.Errorf("Issued = %v", res.Issued)
		}
		q, _ := response(t, res)
		at := q.Get("access_token")
		if q.Get("token_type") != "Bearer" || q.Get("expires_in") != "3600" || q.Get("scope") != "openid email" {
			t.Fatalf("response %v", q)
		}
		alg, claims := verified(t, f.p, q.Get("id_token"))
		if claims["at_hash"] != halfHash(alg, at) || claims["c_hash"] != halfHash(alg, q.Get("code")) {
			t.Fatalf("hashes in %v", claims)
		}
		tok, err := f.p.LookupAccessToken(ctx, at)
		if err != nil {
			t.Fatalf("the front-channel access token is not recorded: %v", err)
		}
		code, err := f.store.GetAuthCode(ctx, f.p.cfg.Tenant, secret.Digest(q.Get("code")), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if tok.GrantID != code.GrantID {
			t.Fatalf("access token grant %q, code grant %q", tok.GrantID, code.GrantID)
		}
		for _, r := range f.store.Tokens(f.p.cfg.Tenant) {
			if r.GrantID == code.GrantID && r.Kind == ports.TokenRefresh {
				t.Fatal("a refresh token was issued from the authorization endpoint")
			}
		}
	})

	t.Run("a replayed code revokes the front-channel access token", func(t *testing.T) {
		q, _ := response(t, f.start(t, f.params("response_type", "code token")))
		if _, err := redeem(q.Get("code")); err != nil {
			t.Fatalf("first redemption: %v", err)
		}
		if _, err := f.p.LookupAccessToken(ctx, q.Get("access_token")); err != nil {
			t.Fatalf("before the replay: %v", err)
		}
		if _, err := redeem(q.Get("code")); !errors.Is(err, ErrInvalidGrant) {
			t.Fatalf("replay: %v", err)
		}
		if _, err := f.p.LookupAccessToken(ctx, q.Get("access_token")); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("after the replay the front-channel token is still active: %v", err)
		}
	})

	errs := []struct {
		name, where, code string
		params            url.Values
	}{
		{name: "query mode with a hybrid type answers in the fragment", where: "fragment", code: "invalid_request",
			params: f.params("response_type", "code token", "response_mode", "query")},
		{name: "missing nonce for id_token is refused", where: "fragment", code: "invalid_request",
			params: f.params("response_type", "code id_token", "nonce", "")},
		{name: "id_token without openid is refused", where: "fragment", code: "invalid_scope",
			params: f.params("response_type", "code id_token", "scope", "email")},
		{name: "implicit token is unsupported", where: "fragment", code: "unsupported_response_type",
			params: f.params("response_type", "token")},
		{name: "implicit id_token is unsupported", where: "fragment", code: "unsupported_response_type",
			params: f.params("response_type", "id_token")},
		{name: "a client without the hybrid type is unauthorized", where: "fragment", code: "unauthorized_client",
			params: f.params("client_id", "plain", "response_type", "code id_token")},
		{name: "missing PKCE on a hybrid request is refused", where: "fragment", code: "invalid_request",
			params: f.params("response_type", "code id_token", "code_challenge", "")},
		{name: "unknown response_type of a code client answers in the query", where: "query", code: "unsupported_response_type",
			params: f.params("response_type", "code none")},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			q, where := response(t, f.start(t, tt.params))
			if where != tt.where || q.Get("error") != tt.code || q.Get("state") != "st" || q.Get("code") != "" || q.Get("id_token") != "" {
				t.Fatalf("%s response %v, want %s in the %s", where, q, tt.code, tt.where)
			}
		})
	}
}

func TestJARMResponses(t *testing.T) {
	f := newAuthzFixture(t)

	// jarm returns the claims of the response JWT, checked.
	jarm := func(t *testing.T, q url.Values) map[string]any {
		t.Helper()
		if len(q) != 1 || q.Get("response") == "" {
			t.Fatalf("a JWT response has one parameter, response: %v", q)
		}
		alg, claims := verified(t, f.p, q.Get("response"))
		if alg != "ES256" {
			t.Errorf("alg %s, want the registered ES256", alg)
		}
		if claims["iss"] != f.p.cfg.Issuer || claims["aud"] != hybridClient || claims["exp"] != float64(testNow.Add(jarmLifetime).Unix()) || claims["state"] != "st" {
			t.Fatalf("claims %v", claims)
		}
		return claims
	}

	tests := []struct {
		name, responseType, mode, where string
		want                            []string
	}{
		{name: "query.jwt carries the code", responseType: "code", mode: "query.jwt", where: "query", want: []string{"code"}},
		{name: "jwt means query.jwt for code", responseType: "code", mode: "jwt", where: "query", want: []string{"code"}},
		{name: "fragment.jwt carries hybrid tokens", responseType: "code id_token token", mode: "fragment.jwt", where: "fragment", want: []string{"code", "id_token", "access_token", "token_type", "expires_in"}},
		{name: "jwt means fragment.jwt for hybrid", responseType: "code id_token", mode: "jwt", where: "fragment", want: []string{"code", "id_token"}},
		{name: "form_post.jwt posts one field", responseType: "code", mode: "form_post.jwt", where: "form", want: []string{"code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, where := response(t, f.start(t, f.params("response_type", tt.responseType, "response_mode", tt.mode)))
			if where != tt.where {
				t.Fatalf("response in the %s, want the %s", where, tt.where)
			}
			claims := jarm(t, q)
			for _, k := range tt.want {
				if s, _ := claims[k].(string); s == "" {
					t.Errorf("claim %s missing: %v", k, claims)
				}
			}
		})
	}
	t.Run("errors are signed too", func(t *testing.T) {
		q, where := response(t, f.start(t, f.params("response_mode", "query.jwt", "code_challenge", "")))
		claims := jarm(t, q)
		if where != "query" || claims["error"] != "invalid_request" || claims["error_description"] == nil || claims["code"] != nil {
			t.Fatalf("%s error response %v", where, claims)
		}
	})
	t.Run("query.jwt with a hybrid type is refused in fragment.jwt", func(t *testing.T) {
		q, where := response(t, f.start(t, f.params("response_type", "code id_token", "response_mode", "query.jwt")))
		if claims := jarm(t, q); where != "fragment" || claims["error"] != "invalid_request" {
			t.Fatalf("%s error response %v", where, claims)
		}
	})
	t.Run("a client without a registered algorithm gets RS256", func(t *testing.T) {
		q, _ := response(t, f.start(t, f.params("client_id", "plain", "response_mode", "jwt")))
		alg, claims := verified(t, f.p, q.Get("response"))
		if alg != "RS256" || claims["aud"] != "plain" || claims["code"] == nil {
			t.Fatalf("alg %s, claims %v", alg, claims)
		}
	})
}
