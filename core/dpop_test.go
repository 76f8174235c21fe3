package core

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"oauth2-server.dev/core/dpop"
	"oauth2-server.dev/core/pkce"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// proofKey is a client's DPoP key.
type proofKey struct {
	priv *ecdsa.PrivateKey
	jwk  json.RawMessage
	jkt  string
}

func newProofKey(t *testing.T) proofKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(k)
	return proofKey{priv: priv, jwk: b, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

// proof makes a proof of a request to target; change edits its claims.
func (k proofKey) proof(t *testing.T, method, target string, change func(c map[string]any)) DPoPProof {
	t.Helper()
	claims := map[string]any{"jti": secret.Random(12), "htm": method, "htu": target, "iat": testNow.Unix()}
	if change != nil {
		change(claims)
	}
	hdr, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk})
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	sig, err := jwsbb.Sign(k.priv, "ES256", []byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	return DPoPProof{JWT: input + "." + enc.EncodeToString(sig), Method: method}
}

// tokenProof is a proof of a token request to p.
func (k proofKey) tokenProof(t *testing.T, p *Provider) DPoPProof {
	return k.proof(t, http.MethodPost, p.TokenEndpoint(), nil)
}

// resourceProof is a proof of a UserInfo request carrying accessToken.
func (k proofKey) resourceProof(t *testing.T, p *Provider, accessToken string) DPoPProof {
	return k.proof(t, http.MethodGet, p.UserinfoEndpoint(), func(c map[string]any) { c["ath"] = dpop.AccessTokenHash(accessToken) })
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want %s", code)
	}
	if e := AsError(err); e.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

// dpopFixture is a provider with a service client, a confidential web
// client, a public native client and a user.
type dpopFixture struct {
	p                  *Provider
	store              *testStore
	svc, web, public   ClientCredentials
	strict             ClientCredentials
	user               *ports.User
	verifier, redirect string
}

func newDPoPFixture(t *testing.T, cfg Config) *dpopFixture {
	t.Helper()
	ctx := context.Background()
	p, store := newTestProvider(t, cfg)
	f := &dpopFixture{p: p, store: store, verifier: strings.Repeat("v", 43), redirect: "https://app.example/cb"}
	for _, c := range []struct{ id, secret, meta string }{
		{"svc", "svc-secret-0123456789", `{"grant_types":["client_credentials"],"scope":"api"}`},
		{"strict", "strict-secret-0123456789", `{"grant_types":["client_credentials"],"scope":"api","dpop_bound_access_tokens":true}`},
		{"web", "web-secret-0123456789", `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"]}`},
		{"native", "", `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`},
	} {
		if _, err := p.EnsureClient(ctx, c.id, c.secret, []byte(c.meta)); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = ClientCredentials{ID: "svc", Secret: "svc-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	f.strict = ClientCredentials{ID: "strict", Secret: "strict-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	f.web = ClientCredentials{ID: "web", Secret: "web-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	f.public = ClientCredentials{ID: "native", Method: ports.AuthMethodNone}
	f.user = &ports.User{ID: "u1", Tenant: p.cfg.Tenant, Username: "alice", Name: "Alice", CreatedAt: testNow}
	if err := store.CreateUser(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	return f
}

// code stores an authorization code for client, bound to jkt when set.
func (f *dpopFixture) code(t *testing.T, clientID, jkt string) string {
	t.Helper()
	code := secret.Random(32)
	sum := pkceChallenge(f.verifier)
	if err := f.store.CreateAuthCode(context.Background(), &ports.AuthorizationCode{
		Hash: secret.Digest(code), Tenant: f.p.cfg.Tenant, GrantID: secret.Random(16), ClientID: clientID,
		UserID: f.user.ID, SessionID: "s1", RedirectURI: f.redirect, Scope: "openid profile", DPoPJKT: jkt,
		CodeChallenge: sum, CodeChallengeMethod: pkce.MethodS256, AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	return code
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (f *dpopFixture) exchange(cred ClientCredentials, code string, proof DPoPProof) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: cred, DPoP: proof, Form: url.Values{
		"grant_type": {GrantAuthorizationCode}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {f.verifier},
	}})
}

func (f *dpopFixture) refresh(cred ClientCredentials, rt string, proof DPoPProof) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: cred, DPoP: proof, Form: url.Values{
		"grant_type": {GrantRefreshToken}, "refresh_token": {rt},
	}})
}

func (f *dpopFixture) serviceToken(cred ClientCredentials, proof DPoPProof) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: cred, DPoP: proof, Form: url.Values{"grant_type": {GrantClientCredentials}}})
}

// accessTokenCnf returns the cnf claim of a JWT access token.
func accessTokenCnf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	var claims struct {
		Cnf map[string]any `json:"cnf"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Cnf
}

func TestDPoPBindsTokens(t *testing.T) {
	ctx := context.Background()
	f := newDPoPFixture(t, Config{})
	key := newProofKey(t)

	t.Run("a proof binds the access token", func(t *testing.T) {
		resp, err := f.serviceToken(f.svc, key.tokenProof(t, f.p))
		if err != nil {
			t.Fatal(err)
		}
		if resp.TokenType != TokenTypeDPoP {
			t.Errorf("token_type = %q, want DPoP", resp.TokenType)
		}
		if cnf := accessTokenCnf(t, resp.AccessToken); cnf["jkt"] != key.jkt {
			t.Errorf("cnf = %v, want jkt %s", cnf, key.jkt)
		}
		in, _, err := f.p.Introspect(ctx, f.svc, resp.AccessToken, DPoPProof{})
		if err != nil {
			t.Fatal(err)
		}
		if !in.Active || in.TokenType != TokenTypeDPoP || in.Cnf["jkt"] != key.jkt {
			t.Errorf("introspection = %+v, want an active DPoP token with cnf.jkt", in)
		}
	})
	t.Run("without a proof the token is a bearer token", func(t *testing.T) {
		resp, err := f.serviceToken(f.svc, DPoPProof{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.TokenType != TokenTypeBearer || accessTokenCnf(t, resp.AccessToken) != nil {
			t.Fatalf("token_type %q, cnf %v; want an unbound Bearer token", resp.TokenType, accessTokenCnf(t, resp.AccessToken))
		}
		in, _, _ := f.p.Introspect(ctx, f.svc, resp.AccessToken, DPoPProof{})
		if in.TokenType != TokenTypeBearer || in.Cnf != nil {
			t.Fatalf("introspection = %+v", in)
		}
	})
	t.Run("an opaque token is bound in its record", func(t *testing.T) {
		if _, err := f.p.EnsureClient(ctx, "opaque", "opaque-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api","access_token_format":"opaque"}`)); err != nil {
			t.Fatal(err)
		}
		cred := ClientCredentials{ID: "opaque", Secret: "opaque-secret-0123456789", Method: ports.AuthMethodSecretBasic}
		resp, err := f.serviceToken(cred, key.tokenProof(t, f.p))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.store.GetToken(ctx, f.p.cfg.Tenant, secret.Digest(resp.AccessToken))
		if err != nil || rec.JKT != key.jkt || resp.TokenType != TokenTypeDPoP {
			t.Fatalf("record %+v, %v; token_type %q", rec, err, resp.TokenType)
		}
	})
	t.Run("a replayed proof is refused", func(t *testing.T) {
		proof := key.tokenProof(t, f.p)
		if _, err := f.serviceToken(f.svc, proof); err != nil {
			t.Fatal(err)
		}
		_, err := f.serviceToken(f.svc, proof)
		wantCode(t, err, "invalid_dpop_proof")
	})
	t.Run("the same jti under another key is not a replay", func(t *testing.T) {
		other := newProofKey(t)
		for _, k := range []proofKey{key, other} {
			if _, err := f.serviceToken(f.svc, k.proof(t, http.MethodPost, f.p.TokenEndpoint(), func(c map[string]any) { c["jti"] = "shared-jti" })); err != nil {
				t.Fatal(err)
			}
		}
	})
	refused := []struct {
		name   string
		change func(c map[string]any)
		method string
	}{
		{name: "a proof for another endpoint", change: func(c map[string]any) { c["htu"] = f.p.RevocationEndpoint() }},
		{name: "a proof for another method", method: http.MethodGet},
		{name: "an expired proof", change: func(c map[string]any) { c["iat"] = testNow.Add(-10 * time.Minute).Unix() }},
		{name: "a proof from the future", change: func(c map[string]any) { c["iat"] = testNow.Add(10 * time.Minute).Unix() }},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			proof := key.proof(t, method, f.p.TokenEndpoint(), tt.change)
			proof.Method = http.MethodPost
			_, err := f.serviceToken(f.svc, proof)
			wantCode(t, err, "invalid_dpop_proof")
		})
	}
	t.Run("a client registered for dpop_bound_access_tokens needs a proof", func(t *testing.T) {
		_, err := f.serviceToken(f.strict, DPoPProof{})
		wantCode(t, err, "invalid_dpop_proof")
		resp, err := f.serviceToken(f.strict, key.tokenProof(t, f.p))
		if err != nil || resp.TokenType != TokenTypeDPoP {
			t.Fatalf("with a proof: %+v, %v", resp, err)
		}
	})
	t.Run("a bad proof is refused before the client's credentials are checked", func(t *testing.T) {
		bad := key.proof(t, http.MethodPost, f.p.RevocationEndpoint(), nil)
		_, err := f.serviceToken(ClientCredentials{ID: "svc", Secret: "wrong", Method: ports.AuthMethodSecretBasic}, bad)
		wantCode(t, err, "invalid_dpop_proof")
	})
	t.Run("a proof of a failed client authentication is not used up", func(t *testing.T) {
		proof := key.tokenProof(t, f.p)
		_, err := f.serviceToken(ClientCredentials{ID: "svc", Secret: "wrong", Method: ports.AuthMethodSecretBasic}, proof)
		wantCode(t, err, "invalid_client")
		if _, err := f.serviceToken(f.svc, proof); err != nil {
			t.Fatalf("the same proof with the right secret: %v", err)
		}
	})
}

func TestDPoPBindsCodesAndRefreshTokens(t *testing.T) {
	f := newDPoPFixture(t, Config{})
	key, other := newProofKey(t), newProofKey(t)

	t.Run("a code bound with dpop_jkt", func(t *testing.T) {
		tests := []struct {
			name  string
			proof func() DPoPProof
			want  string // "" when the exchange succeeds
		}{
			{name: "without a proof is refused", proof: func() DPoPProof { return DPoPProof{} }, want: "invalid_grant"},
			{name: "with another key is refused", proof: func() DPoPProof { return other.tokenProof(t, f.p) }, want: "invalid_grant"},
			{name: "with its key is redeemed", proof: func() DPoPProof { return key.tokenProof(t, f.p) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := f.exchange(f.web, f.code(t, "web", key.jkt), tt.proof())
				if tt.want != "" {
					wantCode(t, err, tt.want)
					return
				}
				if err != nil || resp.TokenType != TokenTypeDPoP {
					t.Fatalf("exchange = %+v, %v", resp, err)
				}
			})
		}
	})

	resp, err := f.exchange(f.public, f.code(t, "native", ""), key.tokenProof(t, f.p))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a public client's refresh token is bound to its key", func(t *testing.T) {
		rec, err := f.store.GetToken(context.Background(), f.p.cfg.Tenant, secret.Digest(resp.RefreshToken))
		if err != nil || rec.JKT != key.jkt {
			t.Fatalf("refresh token record %+v, %v; want jkt %s", rec, err, key.jkt)
		}
	})
	t.Run("refreshing without a proof is refused", func(t *testing.T) {
		_, err := f.refresh(f.public, resp.RefreshToken, DPoPProof{})
		wantCode(t, err, "invalid_grant")
	})
	t.Run("refreshing with another key is refused", func(t *testing.T) {
		_, err := f.refresh(f.public, resp.RefreshToken, other.tokenProof(t, f.p))
		wantCode(t, err, "invalid_grant")
	})
	t.Run("refreshing with its key rotates it, bound again", func(t *testing.T) {
		next, err := f.refresh(f.public, resp.RefreshToken, key.tokenProof(t, f.p))
		if err != nil {
			t.Fatal(err)
		}
		if next.TokenType != TokenTypeDPoP || accessTokenCnf(t, next.AccessToken)["jkt"] != key.jkt {
			t.Fatalf("refreshed token_type %q, cnf %v", next.TokenType, accessTokenCnf(t, next.AccessToken))
		}
		rec, err := f.store.GetToken(context.Background(), f.p.cfg.Tenant, secret.Digest(next.RefreshToken))
		if err != nil || rec.JKT != key.jkt {
			t.Fatalf("rotated refresh token %+v, %v", rec, err)
		}
	})
	t.Run("a confidential client's refresh token is not bound", func(t *testing.T) {
		resp, err := f.exchange(f.web, f.code(t, "web", ""), key.tokenProof(t, f.p))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.store.GetToken(context.Background(), f.p.cfg.Tenant, secret.Digest(resp.RefreshToken))
		if err != nil || rec.JKT != "" {
			t.Fatalf("refresh token record %+v, %v; want it unbound", rec, err)
		}
		next, err := f.refresh(f.web, resp.RefreshToken, other.tokenProof(t, f.p))
		if err != nil {
			t.Fatal(err)
		}
		if accessTokenCnf(t, next.AccessToken)["jkt"] != other.jkt {
			t.Fatalf("the new access token is not bound to the refresh request's key")
		}
	})
}

func TestDPoPUserinfo(t *testing.T) {
	ctx := context.Background()
	f := newDPoPFixture(t, Config{})
	key, other := newProofKey(t), newProofKey(t)
	bound, err := f.exchange(f.public, f.code(t, "native", ""), key.tokenProof(t, f.p))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.exchange(f.public, f.code(t, "native", ""), DPoPProof{})
	if err != nil {
		t.Fatal(err)
	}
	replayed := key.resourceProof(t, f.p, bound.AccessToken)
	if _, err := f.p.Userinfo(ctx, ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP, DPoP: replayed}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		req        ResourceRequest
		wantCode   string // "" when served
		wantStatus int
	}{
		{name: "a bound token with a proof of its key is served", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP, DPoP: key.resourceProof(t, f.p, bound.AccessToken)}},
		{name: "an unbound token as a bearer token is served", req: ResourceRequest{Token: plain.AccessToken, Scheme: TokenTypeBearer}},
		{name: "a bound token as a bearer token is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeBearer}, wantCode: "invalid_token", wantStatus: 401},
		{name: "a bound token as a bearer token with a proof is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeBearer, DPoP: key.resourceProof(t, f.p, bound.AccessToken)}, wantCode: "invalid_token", wantStatus: 401},
		{name: "a bound token without a proof is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP}, wantCode: "invalid_dpop_proof", wantStatus: 401},
		{name: "a proof without ath is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP, DPoP: key.proof(t, http.MethodGet, f.p.UserinfoEndpoint(), nil)}, wantCode: "invalid_dpop_proof", wantStatus: 401},
		{name: "a proof for the token endpoint is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP, DPoP: key.proof(t, http.MethodGet, f.p.TokenEndpoint(), func(c map[string]any) { c["ath"] = dpop.AccessTokenHash(bound.AccessToken) })}, wantCode: "invalid_dpop_proof", wantStatus: 401},
		{name: "a proof by another key is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP, DPoP: other.resourceProof(t, f.p, bound.AccessToken)}, wantCode: "invalid_token", wantStatus: 401},
		{name: "a replayed proof is refused", req: ResourceRequest{Token: bound.AccessToken, Scheme: TokenTypeDPoP, DPoP: replayed}, wantCode: "invalid_dpop_proof", wantStatus: 401},
		{name: "an unbound token with the DPoP scheme is refused", req: ResourceRequest{Token: plain.AccessToken, Scheme: TokenTypeDPoP, DPoP: key.resourceProof(t, f.p, plain.AccessToken)}, wantCode: "invalid_token", wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := f.p.Userinfo(ctx, tt.req)
			if tt.wantCode == "" {
				if err != nil || info.Sub != f.user.ID {
					t.Fatalf("Userinfo = %+v, %v", info, err)
				}
				return
			}
			wantCode(t, err, tt.wantCode)
			if s := AsError(err).Status; s != tt.wantStatus {
				t.Fatalf("status = %d, want %d", s, tt.wantStatus)
			}
		})
	}
}

func TestDPoPNonces(t *testing.T) {
	t.Run("nonces need a key", func(t *testing.T) {
		keys, _ := testKeys()
		secrets, _ := secret.NewKeyed(bytes.Repeat([]byte{1}, 32))
		_, err := New(Config{Issuer: "https://id.example.com", DPoPNonce: true}, Deps{Store: newTestStore(), Keys: keys, Secrets: secrets, Clock: fixedClock{testNow}})
		if err == nil {
			t.Fatal("New accepted DPoP nonces without a nonce key")
		}
	})
	f := newDPoPFixture(t, Config{DPoPNonce: true})
	if f.p.DPoPNonce() == "" {
		t.Fatal("no nonce to hand out")
	}
	key := newProofKey(t)
	withNonce := func(n string) func(c map[string]any) { return func(c map[string]any) { c["nonce"] = n } }
	tests := []struct {
		name   string
		change func(c map[string]any)
		want   string // "" when accepted
	}{
		{name: "a proof without a nonce is asked for one", want: "use_dpop_nonce"},
		{name: "a proof with a made-up nonce is asked for one", change: withNonce("made-up"), want: "use_dpop_nonce"},
		{name: "a proof with a nonce of another server is asked for one", change: withNonce(newDPoPFixture(t, Config{Issuer: "https://other.example.com", DPoPNonce: true}).p.DPoPNonce()), want: "use_dpop_nonce"},
		{name: "a proof with the server's nonce is accepted", change: withNonce(f.p.DPoPNonce())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.serviceToken(f.svc, key.proof(t, http.MethodPost, f.p.TokenEndpoint(), tt.change))
			if tt.want != "" {
				wantCode(t, err, tt.want)
				return
			}
			if err != nil || resp.TokenType != TokenTypeDPoP {
				t.Fatalf("Token = %+v, %v", resp, err)
			}
		})
	}
	t.Run("userinfo asks for a nonce with 401", func(t *testing.T) {
		resp, err := f.exchange(f.public, f.code(t, "native", ""), key.proof(t, http.MethodPost, f.p.TokenEndpoint(), withNonce(f.p.DPoPNonce())))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.p.Userinfo(context.Background(), ResourceRequest{Token: resp.AccessToken, Scheme: TokenTypeDPoP, DPoP: key.resourceProof(t, f.p, resp.AccessToken)})
		wantCode(t, err, "use_dpop_nonce")
		if AsError(err).Status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", AsError(err).Status)
		}
	})
}

func TestDPoPAtOtherEndpoints(t *testing.T) {
	ctx := context.Background()
	f := newDPoPFixture(t, Config{})
	key, other := newProofKey(t), newProofKey(t)
	push := func(form url.Values, proof DPoPProof) (url.Values, error) {
		base := url.Values{"response_type": {"code"}, "redirect_uri": {f.redirect}, "code_challenge": {pkceChallenge(f.verifier)}, "code_challenge_method": {"S256"}}
		for k, v := range form {
			base[k] = v
		}
		pr, err := f.p.PushAuthorizationRequest(ctx, f.web, base, proof)
		if err != nil {
			return nil, err
		}
		id := strings.TrimPrefix(pr.RequestURI, requestURIPrefix)
		stored, err := f.store.GetAuthRequest(ctx, f.p.cfg.Tenant, id, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return url.ParseQuery(stored.Params)
	}
	parProof := func(k proofKey) DPoPProof { return k.proof(t, http.MethodPost, f.p.PAREndpoint(), nil) }

	t.Run("a pushed request with a proof is bound to its key", func(t *testing.T) {
		params, err := push(nil, parProof(key))
		if err != nil || params.Get("dpop_jkt") != key.jkt {
			t.Fatalf("stored dpop_jkt %q, %v; want %s", params.Get("dpop_jkt"), err, key.jkt)
		}
	})
	t.Run("a pushed request with a proof and the same dpop_jkt is accepted", func(t *testing.T) {
		if _, err := push(url.Values{"dpop_jkt": {key.jkt}}, parProof(key)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a pushed request whose dpop_jkt names another key than its proof is refused", func(t *testing.T) {
		_, err := push(url.Values{"dpop_jkt": {other.jkt}}, parProof(key))
		wantCode(t, err, "invalid_dpop_proof")
	})
	t.Run("a pushed request with a proof for the token endpoint is refused", func(t *testing.T) {
		_, err := push(nil, key.tokenProof(t, f.p))
		wantCode(t, err, "invalid_dpop_proof")
	})
	t.Run("a malformed dpop_jkt is refused", func(t *testing.T) {
		_, err := push(url.Values{"dpop_jkt": {"not-a-thumbprint"}}, DPoPProof{})
		wantCode(t, err, "invalid_request")
	})
	t.Run("the authorization endpoint stores dpop_jkt in the code", func(t *testing.T) {
		sess := &ports.Session{ID: "s1", Tenant: f.p.cfg.Tenant, UserID: f.user.ID, AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}
		if err := f.store.SaveConsent(ctx, &ports.Consent{Tenant: f.p.cfg.Tenant, UserID: f.user.ID, ClientID: "web", Scope: "openid profile email offline_access", GrantedAt: testNow}); err != nil {
			t.Fatal(err)
		}
		res, err := f.p.StartAuthorization(ctx, url.Values{
			"client_id": {"web"}, "response_type": {"code"}, "redirect_uri": {f.redirect}, "scope": {"openid"},
			"code_challenge": {pkceChallenge(f.verifier)}, "code_challenge_method": {"S256"}, "dpop_jkt": {key.jkt},
		}, sess)
		if err != nil || res.RedirectURL == "" {
			t.Fatalf("StartAuthorization = %+v, %v", res, err)
		}
		u, _ := url.Parse(res.RedirectURL)
		_, err = f.exchange(f.web, u.Query().Get("code"), other.tokenProof(t, f.p))
		wantCode(t, err, "invalid_grant")
	})

	bound, err := f.serviceToken(f.svc, key.tokenProof(t, f.p))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("introspection and revocation accept a valid proof", func(t *testing.T) {
		if _, _, err := f.p.Introspect(ctx, f.svc, bound.AccessToken, key.proof(t, http.MethodPost, f.p.IntrospectionEndpoint(), nil)); err != nil {
			t.Fatal(err)
		}
		extra, _ := f.serviceToken(f.svc, DPoPProof{})
		if err := f.p.Revoke(ctx, f.svc, extra.AccessToken, key.proof(t, http.MethodPost, f.p.RevocationEndpoint(), nil)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("introspection and revocation refuse an invalid proof", func(t *testing.T) {
		_, _, err := f.p.Introspect(ctx, f.svc, bound.AccessToken, key.tokenProof(t, f.p))
		wantCode(t, err, "invalid_dpop_proof")
		err = f.p.Revoke(ctx, f.svc, bound.AccessToken, key.tokenProof(t, f.p))
		wantCode(t, err, "invalid_dpop_proof")
		if tok, err := f.p.LookupAccessToken(ctx, bound.AccessToken); err != nil || tok.RevokedAt != nil {
			t.Fatalf("a refused revocation revoked the token: %v", err)
		}
	})
	t.Run("a bound token is exchanged only with a proof of its key", func(t *testing.T) {
		if _, err := f.p.EnsureClient(ctx, "gw", "gw-secret-0123456789", []byte(`{"grant_types":["`+GrantTokenExchange+`"],"scope":"api","token_exchange":{"impersonation":true}}`)); err != nil {
			t.Fatal(err)
		}
		gw := ClientCredentials{ID: "gw", Secret: "gw-secret-0123456789", Method: ports.AuthMethodSecretBasic}
		form := url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {bound.AccessToken}, "subject_token_type": {TokenTypeAccessToken}}
		_, err := f.p.Token(ctx, TokenRequest{Client: gw, Form: form})
		wantCode(t, err, "invalid_grant")
		_, err = f.p.Token(ctx, TokenRequest{Client: gw, Form: form, DPoP: other.tokenProof(t, f.p)})
		wantCode(t, err, "invalid_grant")
		resp, err := f.p.Token(ctx, TokenRequest{Client: gw, Form: form, DPoP: key.tokenProof(t, f.p)})
		if err != nil || resp.TokenType != TokenTypeDPoP {
			t.Fatalf("exchange with the key = %+v, %v", resp, err)
		}
	})
}

func TestDPoPDiscoveryAndRegistration(t *testing.T) {
	p, _ := newTestProvider(t, Config{})
	algs, _ := p.Metadata()["dpop_signing_alg_values_supported"].([]string)
	for _, want := range []string{"ES256", "RS256", "PS256", "EdDSA"} {
		if !slices.Contains(algs, want) {
			t.Errorf("dpop_signing_alg_values_supported = %v lacks %s", algs, want)
		}
	}
	for _, never := range []string{"none", "HS256"} {
		if slices.Contains(algs, never) {
			t.Errorf("dpop_signing_alg_values_supported advertises %s", never)
		}
	}
	t.Run("dpop_bound_access_tokens must be a boolean", func(t *testing.T) {
		_, err := p.buildClient([]byte(`{"grant_types":["client_credentials"],"dpop_bound_access_tokens":"yes"}`))
		var e *Error
		if !errors.As(err, &e) || e.Code != ErrInvalidClientMetadata.Code {
			t.Fatalf("buildClient = %v, want invalid_client_metadata", err)
		}
	})
	t.Run("dpop_bound_access_tokens is kept and read back", func(t *testing.T) {
		c, err := p.buildClient([]byte(`{"grant_types":["client_credentials"],"dpop_bound_access_tokens":true}`))
		if err != nil || !requiresDPoP(c) {
			t.Fatalf("buildClient = %v; requiresDPoP false", err)
		}
		plain, _ := p.buildClient([]byte(`{"grant_types":["client_credentials"],"client_name":"dpop_bound_access_tokens"}`))
		if requiresDPoP(plain) {
			t.Fatal("a client name mentioning the member made DPoP mandatory")
		}
	})
}
