package storetest

import (
	"context"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// pendingKind adapts one kind of request that waits for a person's
// decision, device codes or CIBA requests, to the contract both keep:
// created pending, found by a second name (the user code, the decision
// hash) until it expires, decided once, polled with each poll recorded,
// and, once approved, redeemed exactly once.
type pendingKind[T any] struct {
	// kind names the request in failure messages: "DeviceCode",
	// "CIBARequest"; nameNoun names its second name in subtest names.
	kind, nameNoun string
	// noun names the request in subtest names: "device code".
	noun string
	// name is the second name of the request under test, otherName
	// another one.
	name, otherName string
	newReq          func(tenant, hash, name string, at time.Time) *T
	nameOf          func(r *T) string
	// decided returns what r looks like once decided; a kind that
	// records no deciding user ignores userID.
	decided func(r *T, status, userID, sessionID string, authTime time.Time) *T
	// with sets the client, the last poll and the use of r when not nil.
	with   func(r *T, clientID string, lastPolled, used *time.Time) *T
	expiry func(r *T) time.Time
	usedAt func(r *T) *time.Time
	create func(ctx context.Context, s ports.Store, r *T) error
	// get, poll and redeem are the kind's ports.Store methods.
	get      func(s ports.Store, ctx context.Context, tenant, name string, now time.Time) (*T, error)
	decide   func(ctx context.Context, s ports.Store, tenant, name, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent) error
	poll     func(s ports.Store, ctx context.Context, tenant, hash string, now time.Time) (*T, error)
	redeem   func(s ports.Store, ctx context.Context, tenant, hash string, now time.Time) (*T, error)
	approved string
	denied   string
	// readBack are requests that must read back with every field.
	readBack []pendingCase[T]
	// unknownNames and unknownHashes find no request of tenant a's "h1"
	// under name.
	unknownNames, unknownHashes []lookup
}

type pendingCase[T any] struct {
	name string
	req  func(at time.Time) *T
}

type lookup struct{ name, tenant, key string }

// req is the request under test, created pending at at in tenant a.
func (k pendingKind[T]) req(at time.Time) *T { return k.newReq(tenantA, "h1", k.name, at) }

func (k pendingKind[T]) mustCreate(t *testing.T, s ports.Store, r *T) {
	t.Helper()
	mustNil(t, k.create(t.Context(), s, r), "Create"+k.kind)
}

func (k pendingKind[T]) mustGet(t *testing.T, s ports.Store, tenant, name string, now time.Time) *T {
	t.Helper()
	r, err := k.get(s, t.Context(), tenant, name, now)
	mustNil(t, err, "Get"+k.kind+" "+name)
	return r
}

func (k pendingKind[T]) mustDecide(t *testing.T, s ports.Store, status string, at time.Time) {
	t.Helper()
	mustNil(t, k.decide(t.Context(), s, tenantA, k.name, status, "u1", "s1", at, at, nil), "Decide"+k.kind)
}

// testPending checks the contract device codes and CIBA requests share.
func testPending[T any](t *testing.T, open opener, k pendingKind[T]) {
	t.Run("created request reads back with every field", func(t *testing.T) {
		at := baseTime()
		s := open(t)
		for _, tt := range k.readBack {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.req(at)
				mustNil(t, k.create(t.Context(), s, tt.req(at)), "Create"+k.kind)
				got := k.mustGet(t, s, tenantA, k.nameOf(want), at)
				checkEqual(t, want, got)
			})
		}
	})

	t.Run("taken hash or "+k.nameNoun+" returns ErrConflict", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			req  *T
		}{
			{"same hash", k.newReq(tenantA, "h1", k.otherName, at)},
			{"same " + k.nameNoun, k.newReq(tenantA, "h2", k.name, at)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				k.mustCreate(t, s, k.req(at))
				mustIs(t, k.create(t.Context(), s, tt.req), ports.ErrConflict, "Create"+k.kind+" again")
				checkEqual(t, k.req(at), k.mustGet(t, s, tenantA, k.name, at))
			})
		}
	})

	t.Run("request is found by its "+k.nameNoun+" until it expires", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.req(at))
		for _, tt := range expiryCases(k.expiry(k.req(at))) {
			t.Run(tt.name, func(t *testing.T) {
				_, err := k.get(s, t.Context(), tenantA, k.name, tt.now)
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("absent request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.req(at))
		for _, tt := range k.unknownNames {
			t.Run(tt.name, func(t *testing.T) {
				_, err := k.get(s, t.Context(), tt.tenant, tt.key, at)
				mustIs(t, err, ports.ErrNotFound, "Get"+k.kind)
			})
		}
	})

	t.Run("same hash and "+k.nameNoun+" in two tenants are allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := k.req(at)
		b := k.with(k.newReq(tenantB, "h1", k.name, at), "tenant b's client", nil, nil)
		k.mustCreate(t, s, a)
		k.mustCreate(t, s, b)
		k.mustDecide(t, s, k.approved, at)
		checkEqual(t, k.decided(a, k.approved, "u1", "s1", at), k.mustGet(t, s, tenantA, k.name, at))
		checkEqual(t, b, k.mustGet(t, s, tenantB, k.name, at))
	})

	testPendingDecision(t, open, k)
	testPendingPolling(t, open, k)
	testPendingRedemption(t, open, k)
}

func testPendingDecision[T any](t *testing.T, open opener, k pendingKind[T]) {
	testDecisionConsent(t, open, decisionWithConsent{
		create: func(t *testing.T, s ports.Store, at time.Time) { k.mustCreate(t, s, k.req(at)) },
		decide: func(t *testing.T, s ports.Store, status string, now time.Time, consent *ports.Consent) error {
			return k.decide(t.Context(), s, tenantA, k.name, status, "u1", "s1", now, now, consent)
		},
		approved: k.approved, denied: k.denied,
		expiry: func(at time.Time) time.Time { return k.expiry(k.req(at)) },
	})

	t.Run("deciding a pending request records the decision and nothing else", func(t *testing.T) {
		for _, status := range []string{k.approved, k.denied} {
			t.Run(status, func(t *testing.T) {
				s := open(t)
				at := baseTime()
				k.mustCreate(t, s, k.req(at))
				authTime := at.Add(-30 * time.Second)
				mustNil(t, k.decide(t.Context(), s, tenantA, k.name, status, "u1", "s1", authTime, at.Add(time.Minute), nil), "Decide"+k.kind)
				checkEqual(t, k.decided(k.req(at), status, "u1", "s1", authTime), k.mustGet(t, s, tenantA, k.name, at))
			})
		}
	})

	t.Run("deciding a decided request returns ErrAlreadyUsed and keeps the first decision", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.req(at))
		k.mustDecide(t, s, k.denied, at)
		err := k.decide(t.Context(), s, tenantA, k.name, k.approved, "u2", "s2", at, at.Add(time.Second), nil)
		mustIs(t, err, ports.ErrAlreadyUsed, "Decide"+k.kind+" again")
		checkEqual(t, k.decided(k.req(at), k.denied, "u1", "s1", at), k.mustGet(t, s, tenantA, k.name, at))
	})

	t.Run("deciding an absent or expired request returns ErrNotFound and changes nothing", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			lookup
			now time.Time
		}{{lookup{"expired at now", tenantA, k.name}, k.expiry(k.req(at))}}
		for _, l := range k.unknownNames {
			tests = append(tests, struct {
				lookup
				now time.Time
			}{l, at})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				k.mustCreate(t, s, k.req(at))
				err := k.decide(t.Context(), s, tt.tenant, tt.key, k.approved, "u1", "s1", at, tt.now, nil)
				mustIs(t, err, ports.ErrNotFound, "Decide"+k.kind)
				checkEqual(t, k.req(at), k.mustGet(t, s, tenantA, k.name, at))
			})
		}
	})
}

func testPendingPolling[T any](t *testing.T, open opener, k pendingKind[T]) {
	t.Run("poll returns the request as it was before and records the poll", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.req(at))
		first, second := at.Add(5*time.Second), at.Add(7*time.Second)

		got, err := k.poll(s, t.Context(), tenantA, "h1", first)
		mustNil(t, err, "first Poll"+k.kind)
		checkEqual(t, k.req(at), got)

		got, err = k.poll(s, t.Context(), tenantA, "h1", second)
		mustNil(t, err, "second Poll"+k.kind)
		checkEqual(t, k.with(k.req(at), "", ptr(first), nil), got)

		checkEqual(t, k.with(k.req(at), "", ptr(second), nil), k.mustGet(t, s, tenantA, k.name, at))
	})

	t.Run("poll sees the decision", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.req(at))
		k.mustDecide(t, s, k.approved, at)
		got, err := k.poll(s, t.Context(), tenantA, "h1", at.Add(5*time.Second))
		mustNil(t, err, "Poll"+k.kind)
		checkEqual(t, k.decided(k.req(at), k.approved, "u1", "s1", at), got)
	})

	t.Run("polling an absent request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		k.mustCreate(t, s, k.req(at))
		for _, tt := range k.unknownHashes {
			t.Run(tt.name, func(t *testing.T) {
				_, err := k.poll(s, t.Context(), tt.tenant, tt.key, at)
				mustIs(t, err, ports.ErrNotFound, "Poll"+k.kind)
			})
		}
		checkEqual(t, k.req(at), k.mustGet(t, s, tenantA, k.name, at))
	})
}

func testPendingRedemption[T any](t *testing.T, open opener, k pendingKind[T]) {
	t.Run("redeeming an approved request returns it used and a second redemption returns ErrAlreadyUsed", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		expiry := k.expiry(k.req(at))
		k.mustCreate(t, s, k.req(at))
		k.mustDecide(t, s, k.approved, at)
		first := at.Add(10 * time.Second)
		got, err := k.redeem(s, t.Context(), tenantA, "h1", first)
		mustNil(t, err, "Redeem"+k.kind)
		want := k.with(k.decided(k.req(at), k.approved, "u1", "s1", at), "", nil, ptr(first))
		checkEqual(t, want, got)

		// Like a used authorization code, a used request stays
		// ErrAlreadyUsed after it expires, so a replay is always told.
		for _, now := range []time.Time{first.Add(time.Second), expiry.Add(time.Minute)} {
			got, err = k.redeem(s, t.Context(), tenantA, "h1", now)
			mustIs(t, err, ports.ErrAlreadyUsed, "Redeem"+k.kind+" again")
			if got == nil {
				t.Fatal("Redeem" + k.kind + " of a used request returned no request")
			}
			checkEqual(t, want, got)
		}
	})

	t.Run("requests that cannot be redeemed return ErrNotFound and change nothing", func(t *testing.T) {
		at := baseTime()
		type redeemCase struct {
			name, tenant, hash string
			decision           string // empty: left pending
			now                time.Time
		}
		tests := []redeemCase{
			{"pending request", tenantA, "h1", "", at},
			{"denied request", tenantA, "h1", k.denied, at},
			{"approved request expired at now", tenantA, "h1", k.approved, k.expiry(k.req(at))},
		}
		for _, l := range k.unknownHashes {
			tests = append(tests, redeemCase{l.name, l.tenant, l.key, k.approved, at})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				want := k.req(at)
				k.mustCreate(t, s, k.req(at))
				if tt.decision != "" {
					k.mustDecide(t, s, tt.decision, at)
					want = k.decided(want, tt.decision, "u1", "s1", at)
				}
				_, err := k.redeem(s, t.Context(), tt.tenant, tt.hash, tt.now)
				mustIs(t, err, ports.ErrNotFound, "Redeem"+k.kind)
				checkEqual(t, want, k.mustGet(t, s, tenantA, k.name, at))
			})
		}
	})
}
