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

	t.Run("a user's consents list in client order, nobody else's", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mine := []*ports.Consent{
			newConsent(tenantA, "u1", "c1", "openid", at),
			newConsent(tenantA, "u1", "c2", "openid profile", at.Add(time.Second)),
			newConsent(tenantA, "u1", "c3", "openid email", at.Add(2*time.Second)),
		}
		for _, c := range []*ports.Consent{mine[2], newConsent(tenantA, "u2", "c1", "openid", at), mine[0], newConsent(tenantB, "u1", "c9", "openid", at), mine[1]} {
			mustNil(t, s.SaveConsent(t.Context(), c), "SaveConsent")
		}
		got, err := s.ListConsents(t.Context(), tenantA, "u1")
		mustNil(t, err, "ListConsents")
		if len(got) != len(mine) {
			t.Fatalf("ListConsents returned %d consents, want %d", len(got), len(mine))
		}
		for i := range mine {
			checkEqual(t, mine[i], got[i])
		}
		none, err := s.ListConsents(t.Context(), tenantA, "u3")
		mustNil(t, err, "ListConsents of a user without consents")
		if len(none) != 0 {
			t.Errorf("ListConsents of a user without consents = %v", none)
		}
	})

	t.Run("revoking a consent revokes the user's tokens of that client and nothing else", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		token := func(tenant, id, kind, grantID, clientID, subject string) *ports.Token {
			tok := newToken(tenant, id, kind, grantID, at)
			tok.ClientID, tok.Subject = clientID, subject
			return tok
		}
		bystanders := []*ports.Token{
			token(tenantA, "other-user", ports.TokenRefresh, "g3", "c1", "u2"),
			token(tenantA, "other-client", ports.TokenRefresh, "g4", "c2", "u1"),
			token(tenantB, "other-tenant", ports.TokenRefresh, "g5", "c1", "u1"),
		}
		mustNil(t, s.CreateTokens(t.Context(), append([]*ports.Token{
			token(tenantA, "a1", ports.TokenAccess, "g1", "c1", "u1"),
			token(tenantA, "r1", ports.TokenRefresh, "g1", "c1", "u1"),
			token(tenantA, "r2", ports.TokenRefresh, "g2", "c1", "u1"),
		}, bystanders...)), "CreateTokens")
		earlier := at.Add(time.Second)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "r2", earlier), "RevokeToken")
		for _, c := range []*ports.Consent{newConsent(tenantA, "u1", "c1", "openid", at), newConsent(tenantA, "u1", "c2", "openid", at), newConsent(tenantA, "u2", "c1", "openid", at)} {
			mustNil(t, s.SaveConsent(t.Context(), c), "SaveConsent")
		}

		revokeAt := at.Add(time.Minute)
		n, err := s.RevokeConsent(t.Context(), tenantA, "u1", "c1", revokeAt)
		mustNil(t, err, "RevokeConsent")
		if n != 2 {
			t.Errorf("RevokeConsent revoked %d tokens, want 2", n)
		}
		_, err = s.GetConsent(t.Context(), tenantA, "u1", "c1")
		mustIs(t, err, ports.ErrNotFound, "GetConsent after RevokeConsent")
		for _, k := range [][2]string{{"u1", "c2"}, {"u2", "c1"}} {
			_, err := s.GetConsent(t.Context(), tenantA, k[0], k[1])
			mustNil(t, err, "GetConsent of a consent that was not revoked")
		}
		for id, wantAt := range map[string]time.Time{"a1": revokeAt, "r1": revokeAt, "r2": earlier} {
			if tok := getToken(t, s, tenantA, id); tok.RevokedAt == nil || !tok.RevokedAt.Equal(wantAt) {
				t.Errorf("token %s: RevokedAt = %v, want %v", id, tok.RevokedAt, wantAt)
			}
		}
		for _, b := range bystanders {
			checkEqual(t, b, getToken(t, s, b.Tenant, b.ID))
		}

		n, err = s.RevokeConsent(t.Context(), tenantA, "u1", "c1", revokeAt.Add(time.Minute))
		mustNil(t, err, "RevokeConsent of a consent already revoked")
		if n != 0 {
			t.Errorf("RevokeConsent again revoked %d tokens, want 0", n)
		}
	})
}

// decisionWithConsent is a store's decision of a device or CIBA request:
// create stores a pending request created at at, decide answers it at now,
// saving consent with the decision.
type decisionWithConsent struct {
	create func(t *testing.T, s ports.Store, at time.Time)
	decide func(t *testing.T, s ports.Store, status string, now time.Time, consent *ports.Consent) error
	// approved and denied are the request's statuses; expiry is when a
	// request created at at expires.
	approved, denied string
	expiry           func(at time.Time) time.Time
}

// testDecisionConsent checks that a consent given with a decision is kept
// exactly when the decision lands.
func testDecisionConsent(t *testing.T, open opener, d decisionWithConsent) {
	noConsent := func(t *testing.T, s ports.Store, clientID string) {
		t.Helper()
		_, err := s.GetConsent(t.Context(), tenantA, "u1", clientID)
		mustIs(t, err, ports.ErrNotFound, "GetConsent of a decision that did not land")
	}

	t.Run("an approval saves its consent, replacing the one before", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		d.create(t, s, at)
		mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", at)), "SaveConsent")
		want := newConsent(tenantA, "u1", "c1", "openid profile", at.Add(time.Second))
		mustNil(t, d.decide(t, s, d.approved, at.Add(time.Second), want), "decide")
		got, err := s.GetConsent(t.Context(), tenantA, "u1", "c1")
		mustNil(t, err, "GetConsent")
		checkEqual(t, want, got)
	})

	t.Run("a decision that does not land saves no consent", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		d.create(t, s, at)
		mustNil(t, d.decide(t, s, d.denied, at, nil), "first decision")
		err := d.decide(t, s, d.approved, at.Add(time.Second), newConsent(tenantA, "u1", "late", "openid", at))
		mustIs(t, err, ports.ErrAlreadyUsed, "second decision")
		noConsent(t, s, "late")

		s = open(t)
		d.create(t, s, at)
		err = d.decide(t, s, d.approved, d.expiry(at), newConsent(tenantA, "u1", "expired", "openid", at))
		mustIs(t, err, ports.ErrNotFound, "decision after expiry")
		noConsent(t, s, "expired")
	})
}
