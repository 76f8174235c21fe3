package storetest

import (
	"context"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// keyedKind adapts one kind of record kept by tenant and id until it
// expires, authorization requests or sessions, to the contract both keep:
// created once per id and tenant, found until it expires, kept apart from
// other tenants' records, and deleted without touching them.
type keyedKind[T any] struct {
	// kind names the store methods in failure messages: "AuthRequest";
	// noun names the record in subtest names: "request".
	kind, noun string
	// id is the id of the record under test, otherID one never created.
	id, otherID string
	newRec      func(tenant, id string, at time.Time) *T
	expiry      func(r *T) time.Time
	// tellApart changes tenant b's record so that it differs from tenant
	// a's beyond its tenant.
	tellApart func(r *T)
	// create, get and del are the kind's ports.Store methods.
	create func(s ports.Store, ctx context.Context, r *T) error
	get    func(s ports.Store, ctx context.Context, tenant, id string, now time.Time) (*T, error)
	del    func(s ports.Store, ctx context.Context, tenant, id string) error
}

func (k keyedKind[T]) mustCreate(t *testing.T, s ports.Store, r *T, what string) {
	t.Helper()
	mustNil(t, k.create(s, t.Context(), r), "Create"+k.kind+what)
}

// testKeyed checks the contract authorization requests and sessions share.
func testKeyed[T any](t *testing.T, open opener, k keyedKind[T]) {
	t.Run("created "+k.noun+" reads back with every field", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.newRec(tenantA, k.id, at), "")
		got, err := k.get(s, t.Context(), tenantA, k.id, at)
		mustNil(t, err, "Get"+k.kind)
		checkEqual(t, k.newRec(tenantA, k.id, at), got)
	})

	t.Run("duplicate id returns ErrConflict", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.newRec(tenantA, k.id, at), "")
		mustIs(t, k.create(s, t.Context(), k.newRec(tenantA, k.id, at.Add(time.Second))), ports.ErrConflict, "Create"+k.kind+" again")
	})

	t.Run(k.noun+" is found until it expires", func(t *testing.T) {
		s := open(t)
		r := k.newRec(tenantA, k.id, baseTime())
		k.mustCreate(t, s, r, "")
		for _, tt := range expiryCases(k.expiry(r)) {
			t.Run(tt.name, func(t *testing.T) {
				_, err := k.get(s, t.Context(), tenantA, k.id, tt.now)
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("absent "+k.noun+" returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.newRec(tenantA, k.id, at), "")
		_, err := k.get(s, t.Context(), tenantA, k.otherID, at)
		mustIs(t, err, ports.ErrNotFound, "Get"+k.kind+" unknown id")
		_, err = k.get(s, t.Context(), tenantB, k.id, at)
		mustIs(t, err, ports.ErrNotFound, "Get"+k.kind+" from tenant b")
	})

	t.Run("same id in two tenants is allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a, b := k.newRec(tenantA, k.id, at), k.newRec(tenantB, k.id, at)
		k.tellApart(b)
		k.mustCreate(t, s, a, " a")
		k.mustCreate(t, s, b, " b")
		for tenant, want := range map[string]*T{tenantA: a, tenantB: b} {
			got, err := k.get(s, t.Context(), tenant, k.id, at)
			mustNil(t, err, "Get"+k.kind+" "+tenant)
			checkEqual(t, want, got)
		}
	})

	t.Run("delete removes only the tenant's "+k.noun, func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.newRec(tenantA, k.id, at), " a")
		k.mustCreate(t, s, k.newRec(tenantB, k.id, at), " b")
		mustNil(t, k.del(s, t.Context(), tenantA, k.id), "Delete"+k.kind)
		_, err := k.get(s, t.Context(), tenantA, k.id, at)
		mustIs(t, err, ports.ErrNotFound, "Get"+k.kind+" after delete")
		_, err = k.get(s, t.Context(), tenantB, k.id, at)
		mustNil(t, err, "Get"+k.kind+" of tenant b after tenant a's delete")
	})

	t.Run("delete of absent "+k.noun+" is not an error", func(t *testing.T) {
		s := open(t)
		mustNil(t, k.del(s, t.Context(), tenantA, "nobody"), "Delete"+k.kind)
	})
}
