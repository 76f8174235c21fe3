package core

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// TestTokenEventsGoWithTheirChanges checks that the token endpoint hands
// its events to the store together with the change they describe, so a
// store with transactions commits both at once.
func TestTokenEventsGoWithTheirChanges(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	if _, err := p.EnsureClient(ctx, "svc", "svc-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnsureClient(ctx, "web", "web-secret-0123456789", []byte(`{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"api"}`)); err != nil {
		t.Fatal(err)
	}
	cred := ClientCredentials{ID: "svc", Secret: "svc-secret-0123456789", Method: ports.AuthMethodSecretBasic}

	t.Run("a client_credentials token is stored with token.issued", func(t *testing.T) {
		before := len(store.eventTypes())
		if _, err := p.Token(ctx, TokenRequest{Client: cred, Form: url.Values{"grant_type": {GrantClientCredentials}}}); err != nil {
			t.Fatal(err)
		}
		got := store.eventTypes()[before:]
		if !slices.Equal(got, []string{ports.EventTokenIssued}) {
			t.Fatalf("events = %v, want [token.issued]", got)
		}
		evs := store.committed()
		e := evs[len(evs)-1]
		if e.ClientID != "svc" || e.Subject != "svc" || e.Data["grant_type"] != GrantClientCredentials || e.Data["grant_id"] == "" {
			t.Fatalf("event = %+v", e)
		}
	})

	rt := "refresh-token-of-the-test"
	if err := store.CreateTokens(ctx, []*ports.Token{{
		ID: secret.Digest(rt), Tenant: p.cfg.Tenant, Kind: ports.TokenRefresh, GrantID: "g", ClientID: "web",
		Subject: "user", Scope: "api", IssuedAt: testNow, ExpiresAt: testNow.Add(p.cfg.RefreshTokenTTL),
	}}); err != nil {
		t.Fatal(err)
	}
	web := ClientCredentials{ID: "web", Secret: "web-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	refresh := TokenRequest{Client: web, Form: url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}}

	t.Run("a rotation is stored with token.refreshed", func(t *testing.T) {
		before := len(store.eventTypes())
		if _, err := p.Token(ctx, refresh); err != nil {
			t.Fatal(err)
		}
		if got := store.eventTypes()[before:]; !slices.Equal(got, []string{ports.EventTokenRefreshed}) {
			t.Fatalf("events = %v, want [token.refreshed]", got)
		}
	})
	t.Run("a replayed refresh token is stored with token.reuse_detected", func(t *testing.T) {
		before := len(store.eventTypes())
		if _, err := p.Token(ctx, refresh); err == nil {
			t.Fatal("a replayed refresh token was accepted")
		}
		if got := store.eventTypes()[before:]; !slices.Equal(got, []string{ports.EventRefreshTokenReused}) {
			t.Fatalf("events = %v, want [token.reuse_detected]", got)
		}
	})
}

func TestRevokeConsentEvent(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	if err := store.SaveConsent(ctx, &ports.Consent{Tenant: p.cfg.Tenant, UserID: "user", ClientID: "web", Scope: "openid", GrantedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	if err := p.RevokeConsent(ctx, "user", "web"); err != nil {
		t.Fatal(err)
	}
	if got := store.eventTypes(); !slices.Equal(got, []string{ports.EventConsentRevoked}) {
		t.Fatalf("events = %v, want [consent.revoked]", got)
	}
	if e := store.committed()[0]; e.Subject != "user" || e.ClientID != "web" {
		t.Fatalf("event = %+v", e)
	}
	if left, err := p.UserConsents(ctx, "user"); err != nil || len(left) != 0 {
		t.Fatalf("consents after the revocation = %v, %v", left, err)
	}
}
