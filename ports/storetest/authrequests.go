package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newAuthRequest(tenant, id string, at time.Time) *ports.AuthRequest {
	return &ports.AuthRequest{
		ID:        id,
		Tenant:    tenant,
		ClientID:  "client-" + id,
		Params:    "client_id=client-" + id + "&response_type=code&scope=openid+profile&state=xyz%20abc",
		CreatedAt: at,
		ExpiresAt: at.Add(10 * time.Minute),
	}
}

func testAuthRequests(t *testing.T, open opener) {
	t.Run("created request reads back with every field", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest")
		got, err := s.GetAuthRequest(t.Context(), tenantA, "r1", at)
		mustNil(t, err, "GetAuthRequest")
		checkEqual(t, newAuthRequest(tenantA, "r1", at), got)
	})

	t.Run("duplicate id returns ErrConflict", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest")
		mustIs(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at.Add(time.Second))), ports.ErrConflict, "CreateAuthRequest again")
	})

	t.Run("request is found until it expires", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		r := newAuthRequest(tenantA, "r1", at)
		mustNil(t, s.CreateAuthRequest(t.Context(), r), "CreateAuthRequest")
		for _, tt := range expiryCases(r.ExpiresAt) {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.GetAuthRequest(t.Context(), tenantA, "r1", tt.now)
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("absent request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest")
		_, err := s.GetAuthRequest(t.Context(), tenantA, "r2", at)
		mustIs(t, err, ports.ErrNotFound, "GetAuthRequest unknown id")
		_, err = s.GetAuthRequest(t.Context(), tenantB, "r1", at)
		mustIs(t, err, ports.ErrNotFound, "GetAuthRequest from tenant b")
	})

	t.Run("same id in two tenants is allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newAuthRequest(tenantA, "r1", at)
		b := newAuthRequest(tenantB, "r1", at)
		b.Params = "tenant=b"
		mustNil(t, s.CreateAuthRequest(t.Context(), a), "CreateAuthRequest a")
		mustNil(t, s.CreateAuthRequest(t.Context(), b), "CreateAuthRequest b")
		for _, want := range []*ports.AuthRequest{a, b} {
			got, err := s.GetAuthRequest(t.Context(), want.Tenant, want.ID, at)
			mustNil(t, err, "GetAuthRequest "+want.Tenant)
			checkEqual(t, want, got)
		}
	})

	t.Run("delete removes only the tenant's request", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest a")
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantB, "r1", at)), "CreateAuthRequest b")
		mustNil(t, s.DeleteAuthRequest(t.Context(), tenantA, "r1"), "DeleteAuthRequest")
		_, err := s.GetAuthRequest(t.Context(), tenantA, "r1", at)
		mustIs(t, err, ports.ErrNotFound, "GetAuthRequest after delete")
		_, err = s.GetAuthRequest(t.Context(), tenantB, "r1", at)
		mustNil(t, err, "GetAuthRequest of tenant b after tenant a's delete")
	})

	t.Run("delete of absent request is not an error", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.DeleteAuthRequest(t.Context(), tenantA, "nobody"), "DeleteAuthRequest")
	})

	t.Run("consume returns the request with every field and removes it", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest")
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r2", at)), "CreateAuthRequest r2")
		got, err := s.ConsumeAuthRequest(t.Context(), tenantA, "r1", at)
		mustNil(t, err, "ConsumeAuthRequest")
		checkEqual(t, newAuthRequest(tenantA, "r1", at), got)
		_, err = s.GetAuthRequest(t.Context(), tenantA, "r1", at)
		mustIs(t, err, ports.ErrNotFound, "GetAuthRequest after consume")
		_, err = s.ConsumeAuthRequest(t.Context(), tenantA, "r1", at)
		mustIs(t, err, ports.ErrNotFound, "ConsumeAuthRequest again")
		_, err = s.GetAuthRequest(t.Context(), tenantA, "r2", at)
		mustNil(t, err, "GetAuthRequest of a request that was not consumed")
	})

	t.Run("request is consumable until it expires", func(t *testing.T) {
		at := baseTime()
		r := newAuthRequest(tenantA, "r1", at)
		for _, tt := range expiryCases(r.ExpiresAt) {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest")
				_, err := s.ConsumeAuthRequest(t.Context(), tenantA, "r1", tt.now)
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("consume of an absent request returns ErrNotFound without consuming another tenant's", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, "r1", at)), "CreateAuthRequest")
		_, err := s.ConsumeAuthRequest(t.Context(), tenantA, "r2", at)
		mustIs(t, err, ports.ErrNotFound, "ConsumeAuthRequest unknown id")
		_, err = s.ConsumeAuthRequest(t.Context(), tenantB, "r1", at)
		mustIs(t, err, ports.ErrNotFound, "ConsumeAuthRequest from tenant b")
		got, err := s.GetAuthRequest(t.Context(), tenantA, "r1", at)
		mustNil(t, err, "GetAuthRequest of the owning tenant")
		checkEqual(t, newAuthRequest(tenantA, "r1", at), got)
	})
}

// expiryCase is an instant at which a record expiring at some time is
// either still live or already expired: a record expires at its ExpiresAt.
type expiryCase struct {
	name string
	now  time.Time
	live bool
}

func expiryCases(expiresAt time.Time) []expiryCase {
	return []expiryCase{
		{"live one microsecond before it expires", expiresAt.Add(-time.Microsecond), true},
		{"expired at its expiry time returns ErrNotFound", expiresAt, false},
		{"expired after its expiry time returns ErrNotFound", expiresAt.Add(time.Hour), false},
	}
}

func checkExpiry(t *testing.T, err error, live bool) {
	t.Helper()
	if live {
		mustNil(t, err, "get before expiry")
		return
	}
	mustIs(t, err, ports.ErrNotFound, "get after expiry")
}
