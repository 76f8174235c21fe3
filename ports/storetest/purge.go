package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// purgeFixture creates records of one purge kind and tells whether one
// is still stored. Stores filter expired records out of every read by the
// now they are given, so exists looks just before the record's own expiry
// to see whether the row is there at all. exists may consume the record
// (a redeemed code, a used jti), so a test calls it once per record, last.
type purgeFixture struct {
	kind   string
	create func(t *testing.T, s ports.Store, tenant, id string, expiresAt time.Time)
	exists func(t *testing.T, s ports.Store, tenant, id string, expiresAt time.Time) bool
}

// present turns the error of a read into whether the record exists.
func present(t *testing.T, err error, op string) bool {
	t.Helper()
	switch {
	case err == nil, errors.Is(err, ports.ErrAlreadyUsed):
		return true
	case errors.Is(err, ports.ErrNotFound):
		return false
	}
	t.Fatalf("%s: unexpected error: %v", op, err)
	return false
}

var purgeFixtures = []purgeFixture{
	{
		kind: ports.PurgeAuthRequests,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			r := newAuthRequest(tenant, id, exp.Add(-10*time.Minute))
			mustNil(t, s.CreateAuthRequest(t.Context(), r), "CreateAuthRequest")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) bool {
			_, err := s.GetAuthRequest(t.Context(), tenant, id, exp.Add(-time.Microsecond))
			return present(t, err, "GetAuthRequest")
		},
	},
	{
		kind: ports.PurgeAuthCodes,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenant, id, exp.Add(-time.Minute))), "CreateAuthCode")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) bool {
			_, err := s.GetAuthCode(t.Context(), tenant, id, exp.Add(-time.Microsecond))
			return present(t, err, "GetAuthCode")
		},
	},
	{
		kind: ports.PurgeTokens,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			tok := newToken(tenant, id, ports.TokenAccess, "g-"+id, exp.Add(-time.Hour))
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{tok}), "CreateTokens")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, _ time.Time) bool {
			_, err := s.GetToken(t.Context(), tenant, id)
			return present(t, err, "GetToken")
		},
	},
	{
		kind: ports.PurgeSessions,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			sess := newSession(tenant, id, exp.Add(-24*time.Hour))
			mustNil(t, s.CreateSession(t.Context(), sess), "CreateSession")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) bool {
			_, err := s.GetSession(t.Context(), tenant, id, exp.Add(-time.Microsecond))
			return present(t, err, "GetSession")
		},
	},
	{
		kind: ports.PurgeJTIs,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			mustNil(t, s.UseJTI(t.Context(), tenant, id, exp, exp.Add(-time.Minute)), "UseJTI")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) bool {
			// A use succeeds exactly when no record was stored.
			err := s.UseJTI(t.Context(), tenant, id, exp, exp.Add(-time.Microsecond))
			if err == nil {
				return false
			}
			mustIs(t, err, ports.ErrAlreadyUsed, "UseJTI")
			return true
		},
	},
	{
		kind: ports.PurgeDeviceCodes,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenant, "h-"+id, id, exp.Add(-10*time.Minute))), "CreateDeviceCode")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) bool {
			_, err := s.GetDeviceCodeByUserCode(t.Context(), tenant, id, exp.Add(-time.Microsecond))
			return present(t, err, "GetDeviceCodeByUserCode")
		},
	},
	{
		kind: ports.PurgeCIBARequests,
		create: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) {
			mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenant, "h-"+id, id, exp.Add(-5*time.Minute))), "CreateCIBARequest")
		},
		exists: func(t *testing.T, s ports.Store, tenant, id string, exp time.Time) bool {
			_, err := s.GetCIBARequestByDecision(t.Context(), tenant, id, exp.Add(-time.Microsecond))
			return present(t, err, "GetCIBARequestByDecision")
		},
	},
}

func testPurge(t *testing.T, open opener) {
	if len(purgeFixtures) != len(ports.PurgeKinds) {
		t.Fatalf("the suite covers %d purge kinds, ports lists %d", len(purgeFixtures), len(ports.PurgeKinds))
	}
	for _, f := range purgeFixtures {
		t.Run(f.kind, func(t *testing.T) {
			t.Run("purge deletes only expired records, at most limit per call, in every tenant", func(t *testing.T) {
				testPurgeBatches(t, open, f)
			})
			t.Run("steady inserts and purges keep the store bounded", func(t *testing.T) {
				testPurgeBounded(t, open, f)
			})
		})
	}

	t.Run("unknown kind returns an error", func(t *testing.T) {
		s := open(t)
		for _, kind := range []string{"", "clients", "Tokens"} {
			if _, err := s.PurgeExpired(t.Context(), kind, baseTime(), 10); err == nil {
				t.Errorf("PurgeExpired(%q) succeeded", kind)
			}
		}
	})
}

func testPurgeBatches(t *testing.T, open opener, f purgeFixture) {
	s := open(t)
	before := baseTime()
	type record struct {
		tenant, id string
		expiresAt  time.Time
	}
	expired := []record{
		{tenantA, "e1", before.Add(-time.Hour)},
		{tenantA, "e2", before.Add(-time.Microsecond)},
		{tenantA, "e3", before}, // at before: expired
		{tenantB, "e4", before.Add(-2 * time.Hour)},
		{tenantB, "e5", before.Add(-time.Minute)},
	}
	live := []record{
		{tenantA, "l1", before.Add(time.Microsecond)},
		{tenantB, "l2", before.Add(time.Hour)},
		{tenantB, "e1", before.Add(time.Hour)}, // another tenant's id of an expired record
	}
	for _, r := range append(append([]record{}, expired...), live...) {
		f.create(t, s, r.tenant, r.id, r.expiresAt)
	}

	const limit = 2
	var got []int
	for range 10 {
		n, err := s.PurgeExpired(t.Context(), f.kind, before, limit)
		mustNil(t, err, "PurgeExpired")
		got = append(got, n)
		if n < limit {
			break
		}
	}
	if want := []int{2, 2, 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("PurgeExpired with limit %d deleted %v per call, want %v", limit, got, want)
	}
	n, err := s.PurgeExpired(t.Context(), f.kind, before, limit)
	mustNil(t, err, "PurgeExpired after the backlog")
	if n != 0 {
		t.Errorf("PurgeExpired after the backlog deleted %d, want 0", n)
	}
	for _, r := range expired {
		if f.exists(t, s, r.tenant, r.id, r.expiresAt) {
			t.Errorf("%s %s/%s expiring at %v survived a purge before %v", f.kind, r.tenant, r.id, r.expiresAt, before)
		}
	}
	for _, r := range live {
		if !f.exists(t, s, r.tenant, r.id, r.expiresAt) {
			t.Errorf("%s %s/%s expiring at %v was purged before %v", f.kind, r.tenant, r.id, r.expiresAt, before)
		}
	}
}

// testPurgeBounded plays a janitor against steady traffic on a simulated
// clock: every tick inserts a few records that live for a few ticks and
// purges what expired. What remains at the end must be no more than the
// records still live, however many ticks ran.
func testPurgeBounded(t *testing.T, open opener, f purgeFixture) {
	const (
		ticks    = 20
		perTick  = 5
		lifetime = 3 // ticks
		limit    = 4
	)
	s := open(t)
	start := baseTime()
	tick := func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) }
	purged := 0
	for i := range ticks {
		now := tick(i)
		for j := range perTick {
			tenant := tenantA
			if j%2 == 1 {
				tenant = tenantB
			}
			f.create(t, s, tenant, fmt.Sprintf("t%d-%d", i, j), tick(i+lifetime))
		}
		for {
			n, err := s.PurgeExpired(t.Context(), f.kind, now, limit)
			mustNil(t, err, "PurgeExpired")
			if n > limit {
				t.Fatalf("PurgeExpired deleted %d, more than its limit %d", n, limit)
			}
			purged += n
			if n < limit {
				break
			}
		}
		// Records created at tick k expire at tick k+lifetime, so the
		// purge at tick i leaves those of the last lifetime ticks.
		if stored, wantMax := (i+1)*perTick-purged, lifetime*perTick; stored > wantMax {
			t.Fatalf("tick %d: %d records stored after the purge, want at most %d", i, stored, wantMax)
		}
	}
	rest := 0
	for {
		n, err := s.PurgeExpired(t.Context(), f.kind, tick(ticks+lifetime), 1000)
		mustNil(t, err, "PurgeExpired of everything")
		rest += n
		if n < 1000 {
			break
		}
	}
	if purged+rest != ticks*perTick {
		t.Errorf("purged %d during the run and %d at the end, want %d in all", purged, rest, ticks*perTick)
	}
	if rest > lifetime*perTick {
		t.Errorf("%d records left at the end of the run, want at most %d", rest, lifetime*perTick)
	}
}
