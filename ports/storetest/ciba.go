package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newCIBARequest(tenant, hash, decisionHash string, at time.Time) *ports.CIBARequest {
	return &ports.CIBARequest{
		Hash:           hash,
		Tenant:         tenant,
		DecisionHash:   decisionHash,
		ClientID:       "client-" + hash,
		UserID:         "user-" + hash,
		Scope:          "openid profile",
		BindingMessage: "W4SCT",
		DeliveryMode:   ports.CIBAModePoll,
		Status:         ports.CIBAPending,
		Interval:       5 * time.Second,
		CreatedAt:      at,
		ExpiresAt:      at.Add(5 * time.Minute),
	}
}

// cibaDecided returns what r looks like once decided.
func cibaDecided(r *ports.CIBARequest, status, sessionID string, authTime time.Time) *ports.CIBARequest {
	r.Status, r.SessionID, r.AuthTime = status, sessionID, &authTime
	return r
}

func getCIBARequest(t *testing.T, s ports.Store, tenant, decisionHash string, now time.Time) *ports.CIBARequest {
	t.Helper()
	r, err := s.GetCIBARequestByDecision(t.Context(), tenant, decisionHash, now)
	mustNil(t, err, "GetCIBARequestByDecision "+decisionHash)
	return r
}

func testCIBARequests(t *testing.T, open opener) {
	t.Run("created request reads back with every field", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			req  func() *ports.CIBARequest
		}{
			{"pending poll-mode request", func() *ports.CIBARequest { return newCIBARequest(tenantA, "h1", "d1", at) }},
			{"ping-mode request with every optional field set", func() *ports.CIBARequest {
				r := cibaDecided(newCIBARequest(tenantA, "h2", "d2", at), ports.CIBAApproved, "s1", at.Add(-time.Minute))
				r.DeliveryMode = ports.CIBAModePing
				r.Ping = []byte{0, 1, 2, 0xfe, 0xff}
				r.BindingMessage = "Überweisung 42 € – ok?"
				r.Interval = 7*time.Second + 250*time.Millisecond
				r.LastPolledAt = ptr(at.Add(time.Second))
				r.UsedAt = ptr(at.Add(2 * time.Second))
				return r
			}},
			{"request without binding message", func() *ports.CIBARequest {
				r := newCIBARequest(tenantA, "h3", "d3", at)
				r.BindingMessage = ""
				return r
			}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.req()
				mustNil(t, s.CreateCIBARequest(t.Context(), tt.req()), "CreateCIBARequest")
				checkEqual(t, want, getCIBARequest(t, s, want.Tenant, want.DecisionHash, at))
			})
		}
	})

	t.Run("taken hash or decision hash returns ErrConflict", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			req  *ports.CIBARequest
		}{
			{"same hash", newCIBARequest(tenantA, "h1", "other-decision", at)},
			{"same decision hash", newCIBARequest(tenantA, "h2", "d1", at)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
				mustIs(t, s.CreateCIBARequest(t.Context(), tt.req), ports.ErrConflict, "CreateCIBARequest again")
				checkEqual(t, newCIBARequest(tenantA, "h1", "d1", at), getCIBARequest(t, s, tenantA, "d1", at))
			})
		}
	})

	t.Run("request is found by its decision until it expires", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		r := newCIBARequest(tenantA, "h1", "d1", at)
		mustNil(t, s.CreateCIBARequest(t.Context(), r), "CreateCIBARequest")
		for _, tt := range expiryCases(r.ExpiresAt) {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.GetCIBARequestByDecision(t.Context(), tenantA, "d1", tt.now)
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("absent request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
		tests := []struct{ name, tenant, decisionHash string }{
			{"unknown decision hash", tenantA, "nothing"},
			{"the auth_req_id hash is not a decision hash", tenantA, "h1"},
			{"decision hash of another tenant", tenantB, "d1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.GetCIBARequestByDecision(t.Context(), tt.tenant, tt.decisionHash, at)
				mustIs(t, err, ports.ErrNotFound, "GetCIBARequestByDecision")
			})
		}
	})

	t.Run("same hashes in two tenants are allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newCIBARequest(tenantA, "h1", "d1", at)
		b := newCIBARequest(tenantB, "h1", "d1", at)
		b.ClientID = "tenant b's client"
		mustNil(t, s.CreateCIBARequest(t.Context(), a), "CreateCIBARequest a")
		mustNil(t, s.CreateCIBARequest(t.Context(), b), "CreateCIBARequest b")
		mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s1", at, at, nil), "DecideCIBARequest a")
		checkEqual(t, cibaDecided(a, ports.CIBAApproved, "s1", at), getCIBARequest(t, s, tenantA, "d1", at))
		checkEqual(t, b, getCIBARequest(t, s, tenantB, "d1", at))
	})

	testCIBADecision(t, open)
	testCIBAPolling(t, open)
	testCIBARedemption(t, open)
}

func testCIBADecision(t *testing.T, open opener) {
	testDecisionConsent(t, open, decisionWithConsent{
		create: func(t *testing.T, s ports.Store, at time.Time) {
			mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
		},
		decide: func(t *testing.T, s ports.Store, status string, now time.Time, consent *ports.Consent) error {
			return s.DecideCIBARequest(t.Context(), tenantA, "d1", status, "s1", now, now, consent)
		},
		approved: ports.CIBAApproved, denied: ports.CIBADenied,
		expiry: func(at time.Time) time.Time { return newCIBARequest(tenantA, "h1", "d1", at).ExpiresAt },
	})

	t.Run("deciding a pending request records the decision and nothing else", func(t *testing.T) {
		for _, status := range []string{ports.CIBAApproved, ports.CIBADenied} {
			t.Run(status, func(t *testing.T) {
				s := open(t)
				at := baseTime()
				mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
				authTime := at.Add(-30 * time.Second)
				mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", status, "s1", authTime, at.Add(time.Minute), nil), "DecideCIBARequest")
				checkEqual(t, cibaDecided(newCIBARequest(tenantA, "h1", "d1", at), status, "s1", authTime), getCIBARequest(t, s, tenantA, "d1", at))
			})
		}
	})

	t.Run("deciding a decided request returns ErrAlreadyUsed and keeps the first decision", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
		mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBADenied, "s1", at, at, nil), "DecideCIBARequest")
		err := s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s2", at, at.Add(time.Second), nil)
		mustIs(t, err, ports.ErrAlreadyUsed, "DecideCIBARequest again")
		checkEqual(t, cibaDecided(newCIBARequest(tenantA, "h1", "d1", at), ports.CIBADenied, "s1", at), getCIBARequest(t, s, tenantA, "d1", at))
	})

	t.Run("deciding an absent or expired request returns ErrNotFound and changes nothing", func(t *testing.T) {
		at := baseTime()
		expiry := newCIBARequest(tenantA, "h1", "d1", at).ExpiresAt
		tests := []struct {
			name, tenant, decisionHash string
			now                        time.Time
		}{
			{"unknown decision hash", tenantA, "nothing", at},
			{"decision hash of another tenant", tenantB, "d1", at},
			{"expired at now", tenantA, "d1", expiry},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
				err := s.DecideCIBARequest(t.Context(), tt.tenant, tt.decisionHash, ports.CIBAApproved, "s1", at, tt.now, nil)
				mustIs(t, err, ports.ErrNotFound, "DecideCIBARequest")
				checkEqual(t, newCIBARequest(tenantA, "h1", "d1", at), getCIBARequest(t, s, tenantA, "d1", at))
			})
		}
	})
}

func testCIBAPolling(t *testing.T, open opener) {
	t.Run("poll returns the request as it was before and records the poll", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
		first, second := at.Add(5*time.Second), at.Add(7*time.Second)

		got, err := s.PollCIBARequest(t.Context(), tenantA, "h1", first)
		mustNil(t, err, "first PollCIBARequest")
		checkEqual(t, newCIBARequest(tenantA, "h1", "d1", at), got)

		got, err = s.PollCIBARequest(t.Context(), tenantA, "h1", second)
		mustNil(t, err, "second PollCIBARequest")
		want := newCIBARequest(tenantA, "h1", "d1", at)
		want.LastPolledAt = ptr(first)
		checkEqual(t, want, got)

		want.LastPolledAt = ptr(second)
		checkEqual(t, want, getCIBARequest(t, s, tenantA, "d1", at))
	})

	t.Run("poll sees the decision", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
		mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s1", at, at, nil), "DecideCIBARequest")
		got, err := s.PollCIBARequest(t.Context(), tenantA, "h1", at.Add(5*time.Second))
		mustNil(t, err, "PollCIBARequest")
		checkEqual(t, cibaDecided(newCIBARequest(tenantA, "h1", "d1", at), ports.CIBAApproved, "s1", at), got)
	})

	t.Run("poll of an expired request returns it, so that expiry can be told from an unknown id", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		r := newCIBARequest(tenantA, "h1", "d1", at)
		mustNil(t, s.CreateCIBARequest(t.Context(), r), "CreateCIBARequest")
		for _, now := range []time.Time{r.ExpiresAt, r.ExpiresAt.Add(time.Hour)} {
			got, err := s.PollCIBARequest(t.Context(), tenantA, "h1", now)
			mustNil(t, err, "PollCIBARequest after expiry")
			if got.Hash != "h1" || !got.ExpiresAt.Equal(r.ExpiresAt) {
				t.Fatalf("PollCIBARequest after expiry returned %+v", got)
			}
		}
	})

	t.Run("polling an absent request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		r := newCIBARequest(tenantA, "h1", "d1", at)
		mustNil(t, s.CreateCIBARequest(t.Context(), r), "CreateCIBARequest")
		tests := []struct{ name, tenant, hash string }{
			{"unknown hash", tenantA, "h2"},
			{"the decision hash is not an auth_req_id hash", tenantA, "d1"},
			{"hash of another tenant", tenantB, "h1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.PollCIBARequest(t.Context(), tt.tenant, tt.hash, at)
				mustIs(t, err, ports.ErrNotFound, "PollCIBARequest")
			})
		}
		checkEqual(t, r, getCIBARequest(t, s, tenantA, "d1", at))
	})
}

func testCIBARedemption(t *testing.T, open opener) {
	t.Run("redeeming an approved request returns it used and a second redemption returns ErrAlreadyUsed", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		expiry := newCIBARequest(tenantA, "h1", "d1", at).ExpiresAt
		mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
		mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s1", at, at, nil), "DecideCIBARequest")
		first := at.Add(10 * time.Second)
		got, err := s.RedeemCIBARequest(t.Context(), tenantA, "h1", first)
		mustNil(t, err, "RedeemCIBARequest")
		want := cibaDecided(newCIBARequest(tenantA, "h1", "d1", at), ports.CIBAApproved, "s1", at)
		want.UsedAt = ptr(first)
		checkEqual(t, want, got)

		for _, now := range []time.Time{first.Add(time.Second), expiry.Add(time.Minute)} {
			got, err = s.RedeemCIBARequest(t.Context(), tenantA, "h1", now)
			mustIs(t, err, ports.ErrAlreadyUsed, "RedeemCIBARequest again")
			if got == nil {
				t.Fatal("RedeemCIBARequest of a used request returned no request")
			}
			checkEqual(t, want, got)
		}
	})

	t.Run("requests that cannot be redeemed return ErrNotFound and change nothing", func(t *testing.T) {
		at := baseTime()
		expiry := newCIBARequest(tenantA, "h1", "d1", at).ExpiresAt
		tests := []struct {
			name, tenant, hash string
			decision           string // empty: left pending
			now                time.Time
		}{
			{"pending request", tenantA, "h1", "", at},
			{"denied request", tenantA, "h1", ports.CIBADenied, at},
			{"approved request expired at now", tenantA, "h1", ports.CIBAApproved, expiry},
			{"unknown hash", tenantA, "h2", ports.CIBAApproved, at},
			{"decision hash in place of the hash", tenantA, "d1", ports.CIBAApproved, at},
			{"hash of another tenant", tenantB, "h1", ports.CIBAApproved, at},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				want := newCIBARequest(tenantA, "h1", "d1", at)
				mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
				if tt.decision != "" {
					mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", tt.decision, "s1", at, at, nil), "DecideCIBARequest")
					cibaDecided(want, tt.decision, "s1", at)
				}
				_, err := s.RedeemCIBARequest(t.Context(), tt.tenant, tt.hash, tt.now)
				mustIs(t, err, ports.ErrNotFound, "RedeemCIBARequest")
				checkEqual(t, want, getCIBARequest(t, s, tenantA, "d1", at))
			})
		}
	})
}
