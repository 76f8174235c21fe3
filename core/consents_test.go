package core

import (
	"context"
	"errors"
	"testing"

	"oauth2-server.dev/ports"
)

func TestRememberedConsentKeepsWhatWasGranted(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	if err := store.SaveConsent(ctx, &ports.Consent{Tenant: ports.DefaultTenant, UserID: "u1", ClientID: "c1", Scope: "openid profile", GrantedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	scopeOf := func(t *testing.T) string {
		t.Helper()
		c, err := store.GetConsent(ctx, ports.DefaultTenant, "u1", "c1")
		if err != nil {
			t.Fatal(err)
		}
		return c.Scope
	}

	t.Run("a new grant adds to the scopes granted before", func(t *testing.T) {
		if err := p.rememberConsent(ctx, "u1", "c1", []string{"email"}, map[string]string{}); err != nil {
			t.Fatal(err)
		}
		if got := scopeOf(t); got != "email openid profile" {
			t.Fatalf("consent scope = %q, want email added to openid profile", got)
		}
	})
	t.Run("when the consent before cannot be read, nothing is replaced", func(t *testing.T) {
		// Consent reads fail as an unreachable database's would.
		store.fail("GetConsent", errors.New("connection refused"))
		err := p.rememberConsent(ctx, "u1", "c1", []string{"address"}, map[string]string{})
		store.fail("GetConsent", nil)
		if errCode(err) != "server_error" {
			t.Fatalf("rememberConsent with failing reads = %v, want server_error", err)
		}
		if got := scopeOf(t); got != "email openid profile" {
			t.Fatalf("consent scope = %q after a failed read, want it unchanged", got)
		}
	})
}
