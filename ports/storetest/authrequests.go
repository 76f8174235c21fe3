package storetest

import (
	"context"
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

var authRequests = keyedKind[ports.AuthRequest]{
	kind: "AuthRequest", noun: "request", id: "r1", otherID: "r2",
	newRec:    newAuthRequest,
	expiry:    func(r *ports.AuthRequest) time.Time { return r.ExpiresAt },
	tellApart: func(r *ports.AuthRequest) { r.Params = "tenant=b" },
	create: func(s ports.Store, ctx context.Context, r *ports.AuthRequest) error {
		return s.CreateAuthRequest(ctx, r)
	},
	get: ports.Store.GetAuthRequest,
	del: ports.Store.DeleteAuthRequest,
}

func testAuthRequests(t *testing.T, open opener) {
	testKeyed(t, open, authRequests)

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
