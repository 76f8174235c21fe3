package core

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"oauth2-server.dev/ports"
)

func TestIntrospectionOfRememberedTokens(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t, Config{})
	if _, err := p.EnsureClient(ctx, "svc", "svc-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api"}`)); err != nil {
		t.Fatal(err)
	}
	cred := ClientCredentials{ID: "svc", Secret: "svc-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	issue := func(t *testing.T) string {
		resp, err := p.Token(ctx, TokenRequest{Client: cred, Form: url.Values{"grant_type": {GrantClientCredentials}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.AccessToken
	}
	active := func(t *testing.T, token string) bool {
		in, _, err := p.Introspect(ctx, cred, token, DPoPProof{})
		if err != nil {
			t.Fatal(err)
		}
		return in.Active
	}

	t.Run("a revoked token reads inactive though it was verified before", func(t *testing.T) {
		tok := issue(t)
		if first, second := active(t, tok), active(t, tok); !first || !second {
			t.Fatal("a fresh token reads inactive")
		}
		if err := p.Revoke(ctx, cred, tok, DPoPProof{}); err != nil {
			t.Fatal(err)
		}
		if active(t, tok) {
			t.Fatal("a revoked token reads active after its signature was remembered")
		}
	})
	t.Run("a token with a remembered jti and another signature is refused", func(t *testing.T) {
		tok := issue(t)
		if !active(t, tok) {
			t.Fatal("a fresh token reads inactive")
		}
		parts := strings.Split(tok, ".")
		forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		if active(t, forged) {
			t.Fatal("a token with a forged signature reads active")
		}
	})
}

func TestRevocationOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	clock := &stepClock{now: testNow}
	a, store := newTestProviderWith(t, Config{}, func(d *Deps) { d.Clock = clock })
	b, _ := newTestProviderWith(t, Config{}, func(d *Deps) { d.Store, d.Clock = store, clock })
	if _, err := a.EnsureClient(ctx, "svc", "svc-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api"}`)); err != nil {
		t.Fatal(err)
	}
	cred := ClientCredentials{ID: "svc", Secret: "svc-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	resp, err := a.Token(ctx, TokenRequest{Client: cred, Form: url.Values{"grant_type": {GrantClientCredentials}}})
	if err != nil {
		t.Fatal(err)
	}
	active := func(p *Provider) bool {
		in, _, err := p.Introspect(ctx, cred, resp.AccessToken, DPoPProof{})
		if err != nil {
			t.Fatal(err)
		}
		return in.Active
	}
	if !active(a) {
		t.Fatal("a fresh token reads inactive")
	}
	if err := b.Revoke(ctx, cred, resp.AccessToken, DPoPProof{}); err != nil {
		t.Fatal(err)
	}
	if active(b) {
		t.Fatal("the replica that revoked the token still reads it active")
	}
	clock.advance(recordCacheTTL)
	if active(a) {
		t.Fatalf("another replica reads a revoked token active %v after the revocation", recordCacheTTL)
	}
}
