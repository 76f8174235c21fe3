package core

import (
	"context"
	"net/url"
	"testing"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// benchClient registers a confidential client for the hot-path benchmarks.
func benchClient(b *testing.B, p *Provider, metadata string) (*ports.Client, string) {
	b.Helper()
	c, err := p.EnsureClient(context.Background(), "bench-client", "bench-secret-0123456789", []byte(metadata))
	if err != nil {
		b.Fatal(err)
	}
	return c, "bench-secret-0123456789"
}

func BenchmarkAuthenticateClient(b *testing.B) {
	p, _ := newTestProvider(b, Config{})
	_, sec := benchClient(b, p, `{"grant_types":["client_credentials"],"scope":"a"}`)
	cred := ClientCredentials{ID: "bench-client", Secret: sec, Method: ports.AuthMethodSecretBasic}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.AuthenticateClient(ctx, cred); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientCredentialsToken(b *testing.B) {
	p, _ := newTestProvider(b, Config{})
	_, sec := benchClient(b, p, `{"grant_types":["client_credentials"],"scope":"a"}`)
	req := TokenRequest{
		Client: ClientCredentials{ID: "bench-client", Secret: sec, Method: ports.AuthMethodSecretBasic},
		Form:   url.Values{"grant_type": {GrantClientCredentials}, "scope": {"a"}},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Token(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntrospectJWT(b *testing.B) {
	p, _ := newTestProvider(b, Config{})
	_, sec := benchClient(b, p, `{"grant_types":["client_credentials"],"scope":"a"}`)
	cred := ClientCredentials{ID: "bench-client", Secret: sec, Method: ports.AuthMethodSecretBasic}
	ctx := context.Background()
	tok, err := p.Token(ctx, TokenRequest{Client: cred, Form: url.Values{"grant_type": {GrantClientCredentials}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in, _, err := p.Introspect(ctx, cred, tok.AccessToken, DPoPProof{})
		if err != nil || !in.Active {
			b.Fatalf("introspect: %v %+v", err, in)
		}
	}
}

func BenchmarkRefreshRotation(b *testing.B) {
	p, store := newTestProvider(b, Config{})
	_, sec := benchClient(b, p, `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"api"}`)
	cred := ClientCredentials{ID: "bench-client", Secret: sec, Method: ports.AuthMethodSecretBasic}
	ctx := context.Background()
	// A refresh token to start the chain, as a code exchange would leave.
	rt := "bench-refresh-token"
	if err := store.CreateTokens(ctx, []*ports.Token{{
		ID: secret.Digest(rt), Tenant: p.cfg.Tenant, Kind: ports.TokenRefresh, GrantID: "g", ClientID: "bench-client",
		Subject: "user", Scope: "api", IssuedAt: testNow, ExpiresAt: testNow.Add(p.cfg.RefreshTokenTTL),
	}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := p.Token(ctx, TokenRequest{Client: cred, Form: url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}})
		if err != nil {
			b.Fatal(err)
		}
		rt = resp.RefreshToken
	}
}
