package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newConsent(tenant, userID, clientID, scope string, at time.Time) *ports.Consent {
	return &ports.Consent{Tenant: tenant, UserID: userID, ClientID: clientID, Scope: scope, GrantedAt: at}
}

func testConsents(t *testing.T, open opener) {
	t.Run("saved consent reads back with every field", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid profile", at)), "SaveConsent")
		got, err := s.GetConsent(t.Context(), tenantA, "u1", "c1")
		mustNil(t, err, "GetConsent")
		checkEqual(t, newConsent(tenantA, "u1", "c1", "openid profile", at), got)
	})

	t.Run("saving again replaces the consent", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid profile email", at)), "SaveConsent")
		want := newConsent(tenantA, "u1", "c1", "openid", at.Add(time.Hour))
		mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", at.Add(time.Hour))), "SaveConsent again")
		got, err := s.GetConsent(t.Context(), tenantA, "u1", "c1")
		mustNil(t, err, "GetConsent")
		checkEqual(t, want, got)
	})

	t.Run("consents are kept per tenant, user and client", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		consents := []*ports.Consent{
			newConsent(tenantA, "u1", "c1", "a u1 c1", at),
			newConsent(tenantA, "u1", "c2", "a u1 c2", at.Add(1*time.Second)),
			newConsent(tenantA, "u2", "c1", "a u2 c1", at.Add(2*time.Second)),
			newConsent(tenantB, "u1", "c1", "b u1 c1", at.Add(3*time.Second)),
		}
		for _, c := range consents {
			mustNil(t, s.SaveConsent(t.Context(), c), "SaveConsent")
		}
		for _, want := range consents {
			got, err := s.GetConsent(t.Context(), want.Tenant, want.UserID, want.ClientID)
			mustNil(t, err, "GetConsent")
			checkEqual(t, want, got)
		}
	})

	t.Run("absent consent returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", baseTime())), "SaveConsent")
		tests := []struct{ name, tenant, user, client string }{
			{"unknown user", tenantA, "u2", "c1"},
			{"unknown client", tenantA, "u1", "c2"},
			{"another tenant", tenantB, "u1", "c1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.GetConsent(t.Context(), tt.tenant, tt.user, tt.client)
				mustIs(t, err, ports.ErrNotFound, "GetConsent")
			})
		}
	})

	t.Run("delete removes only that consent", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		keep := []*ports.Consent{
			newConsent(tenantA, "u1", "c2", "openid", at),
			newConsent(tenantB, "u1", "c1", "openid", at),
		}
		mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", at)), "SaveConsent")
		for _, c := range keep {
			mustNil(t, s.SaveConsent(t.Context(), c), "SaveConsent")
		}
		mustNil(t, s.DeleteConsent(t.Context(), tenantA, "u1", "c1"), "DeleteConsent")
		_, err := s.GetConsent(t.Context(), tenantA, "u1", "c1")
		mustIs(t, err, ports.ErrNotFound, "GetConsent after delete")
		for _, c := range keep {
			_, err := s.GetConsent(t.Context(), c.Tenant, c.UserID, c.ClientID)
			mustNil(t, err, "GetConsent of a consent that was not deleted")
		}
	})

	t.Run("delete of absent consent is not an error", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.DeleteConsent(t.Context(), tenantA, "u1", "c1"), "DeleteConsent")
	})
}
