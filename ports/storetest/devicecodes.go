package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newDeviceCode(tenant, hash, userCode string, at time.Time) *ports.DeviceCode {
	return &ports.DeviceCode{
		Hash:      hash,
		Tenant:    tenant,
		UserCode:  userCode,
		ClientID:  "client-" + hash,
		Scope:     "openid profile offline_access",
		Status:    ports.DevicePending,
		Interval:  5 * time.Second,
		CreatedAt: at,
		ExpiresAt: at.Add(10 * time.Minute),
	}
}

// decided returns what d looks like once decided.
func decided(d *ports.DeviceCode, status, userID, sessionID string, authTime time.Time) *ports.DeviceCode {
	d.Status, d.UserID, d.SessionID, d.AuthTime = status, userID, sessionID, &authTime
	return d
}

func getDeviceCode(t *testing.T, s ports.Store, tenant, userCode string, now time.Time) *ports.DeviceCode {
	t.Helper()
	d, err := s.GetDeviceCodeByUserCode(t.Context(), tenant, userCode, now)
	mustNil(t, err, "GetDeviceCodeByUserCode "+userCode)
	return d
}

func testDeviceCodes(t *testing.T, open opener) {
	t.Run("created request reads back with every field", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			code func() *ports.DeviceCode
		}{
			{"pending request", func() *ports.DeviceCode { return newDeviceCode(tenantA, "h1", "WDJBMJHT", at) }},
			{"request with every optional field set", func() *ports.DeviceCode {
				d := decided(newDeviceCode(tenantA, "h2", "BCDFGHJK", at), ports.DeviceApproved, "u1", "s1", at.Add(-time.Minute))
				d.Interval = 7*time.Second + 250*time.Millisecond
				d.LastPolledAt = ptr(at.Add(time.Second))
				d.UsedAt = ptr(at.Add(2 * time.Second))
				return d
			}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.code()
				mustNil(t, s.CreateDeviceCode(t.Context(), tt.code()), "CreateDeviceCode")
				checkEqual(t, want, getDeviceCode(t, s, want.Tenant, want.UserCode, at))
			})
		}
	})

	t.Run("taken hash or user code returns ErrConflict", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			code *ports.DeviceCode
		}{
			{"same hash", newDeviceCode(tenantA, "h1", "OTHERCODE", at)},
			{"same user code", newDeviceCode(tenantA, "h2", "WDJBMJHT", at)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
				mustIs(t, s.CreateDeviceCode(t.Context(), tt.code), ports.ErrConflict, "CreateDeviceCode again")
				checkEqual(t, newDeviceCode(tenantA, "h1", "WDJBMJHT", at), getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
			})
		}
	})

	t.Run("request is found until it expires", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		d := newDeviceCode(tenantA, "h1", "WDJBMJHT", at)
		mustNil(t, s.CreateDeviceCode(t.Context(), d), "CreateDeviceCode")
		for _, tt := range expiryCases(d.ExpiresAt) {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.GetDeviceCodeByUserCode(t.Context(), tenantA, "WDJBMJHT", tt.now)
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("absent request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
		_, err := s.GetDeviceCodeByUserCode(t.Context(), tenantA, "NOSUCHCODE", at)
		mustIs(t, err, ports.ErrNotFound, "GetDeviceCodeByUserCode unknown user code")
		_, err = s.GetDeviceCodeByUserCode(t.Context(), tenantB, "WDJBMJHT", at)
		mustIs(t, err, ports.ErrNotFound, "GetDeviceCodeByUserCode from tenant b")
	})

	t.Run("same hash and user code in two tenants are allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newDeviceCode(tenantA, "h1", "WDJBMJHT", at)
		b := newDeviceCode(tenantB, "h1", "WDJBMJHT", at)
		b.ClientID = "tenant b's device"
		mustNil(t, s.CreateDeviceCode(t.Context(), a), "CreateDeviceCode a")
		mustNil(t, s.CreateDeviceCode(t.Context(), b), "CreateDeviceCode b")
		mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", ports.DeviceApproved, "u1", "s1", at, at, nil), "DecideDeviceCode a")
		checkEqual(t, decided(a, ports.DeviceApproved, "u1", "s1", at), getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
		checkEqual(t, b, getDeviceCode(t, s, tenantB, "WDJBMJHT", at))
	})

	testDeviceDecision(t, open)
	testDevicePolling(t, open)
	testDeviceRedemption(t, open)
}

func testDeviceDecision(t *testing.T, open opener) {
	testDecisionConsent(t, open, decisionWithConsent{
		create: func(t *testing.T, s ports.Store, at time.Time) {
			mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
		},
		decide: func(t *testing.T, s ports.Store, status string, now time.Time, consent *ports.Consent) error {
			return s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", status, "u1", "s1", now, now, consent)
		},
		approved: ports.DeviceApproved, denied: ports.DeviceDenied,
		expiry: func(at time.Time) time.Time { return newDeviceCode(tenantA, "h1", "WDJBMJHT", at).ExpiresAt },
	})

	t.Run("deciding a pending request records the decision and nothing else", func(t *testing.T) {
		for _, status := range []string{ports.DeviceApproved, ports.DeviceDenied} {
			t.Run(status, func(t *testing.T) {
				s := open(t)
				at := baseTime()
				mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
				authTime := at.Add(-30 * time.Second)
				mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", status, "u1", "s1", authTime, at.Add(time.Minute), nil), "DecideDeviceCode")
				want := decided(newDeviceCode(tenantA, "h1", "WDJBMJHT", at), status, "u1", "s1", authTime)
				checkEqual(t, want, getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
			})
		}
	})

	t.Run("deciding a decided request returns ErrAlreadyUsed and keeps the first decision", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
		mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", ports.DeviceDenied, "u1", "s1", at, at, nil), "DecideDeviceCode")
		err := s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", ports.DeviceApproved, "u2", "s2", at, at.Add(time.Second), nil)
		mustIs(t, err, ports.ErrAlreadyUsed, "DecideDeviceCode again")
		want := decided(newDeviceCode(tenantA, "h1", "WDJBMJHT", at), ports.DeviceDenied, "u1", "s1", at)
		checkEqual(t, want, getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
	})

	t.Run("deciding an absent or expired request returns ErrNotFound and changes nothing", func(t *testing.T) {
		at := baseTime()
		expiry := newDeviceCode(tenantA, "h1", "WDJBMJHT", at).ExpiresAt
		tests := []struct {
			name, tenant, userCode string
			now                    time.Time
		}{
			{"unknown user code", tenantA, "NOSUCHCODE", at},
			{"user code of another tenant", tenantB, "WDJBMJHT", at},
			{"expired at now", tenantA, "WDJBMJHT", expiry},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
				err := s.DecideDeviceCode(t.Context(), tt.tenant, tt.userCode, ports.DeviceApproved, "u1", "s1", at, tt.now, nil)
				mustIs(t, err, ports.ErrNotFound, "DecideDeviceCode")
				checkEqual(t, newDeviceCode(tenantA, "h1", "WDJBMJHT", at), getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
			})
		}
	})
}

func testDevicePolling(t *testing.T, open opener) {
	t.Run("poll returns the request as it was before and records the poll", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
		first, second := at.Add(5*time.Second), at.Add(7*time.Second)

		got, err := s.PollDeviceCode(t.Context(), tenantA, "h1", first)
		mustNil(t, err, "first PollDeviceCode")
		checkEqual(t, newDeviceCode(tenantA, "h1", "WDJBMJHT", at), got)

		got, err = s.PollDeviceCode(t.Context(), tenantA, "h1", second)
		mustNil(t, err, "second PollDeviceCode")
		want := newDeviceCode(tenantA, "h1", "WDJBMJHT", at)
		want.LastPolledAt = ptr(first)
		checkEqual(t, want, got)

		want.LastPolledAt = ptr(second)
		checkEqual(t, want, getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
	})

	t.Run("poll sees the decision", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
		mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", ports.DeviceApproved, "u1", "s1", at, at, nil), "DecideDeviceCode")
		got, err := s.PollDeviceCode(t.Context(), tenantA, "h1", at.Add(5*time.Second))
		mustNil(t, err, "PollDeviceCode")
		checkEqual(t, decided(newDeviceCode(tenantA, "h1", "WDJBMJHT", at), ports.DeviceApproved, "u1", "s1", at), got)
	})

	t.Run("polling an absent or expired request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		d := newDeviceCode(tenantA, "h1", "WDJBMJHT", at)
		mustNil(t, s.CreateDeviceCode(t.Context(), d), "CreateDeviceCode")
		_, err := s.PollDeviceCode(t.Context(), tenantA, "h2", at)
		mustIs(t, err, ports.ErrNotFound, "PollDeviceCode unknown hash")
		_, err = s.PollDeviceCode(t.Context(), tenantB, "h1", at)
		mustIs(t, err, ports.ErrNotFound, "PollDeviceCode from tenant b")
		_, err = s.PollDeviceCode(t.Context(), tenantA, "h1", d.ExpiresAt)
		mustIs(t, err, ports.ErrNotFound, "PollDeviceCode at expiry")
		checkEqual(t, d, getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
	})
}

func testDeviceRedemption(t *testing.T, open opener) {
	t.Run("redeeming an approved request returns it used and a second redemption returns ErrAlreadyUsed", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		expiry := newDeviceCode(tenantA, "h1", "WDJBMJHT", at).ExpiresAt
		mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
		mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", ports.DeviceApproved, "u1", "s1", at, at, nil), "DecideDeviceCode")
		first := at.Add(10 * time.Second)
		got, err := s.RedeemDeviceCode(t.Context(), tenantA, "h1", first)
		mustNil(t, err, "RedeemDeviceCode")
		want := decided(newDeviceCode(tenantA, "h1", "WDJBMJHT", at), ports.DeviceApproved, "u1", "s1", at)
		want.UsedAt = ptr(first)
		checkEqual(t, want, got)

		// Like a used authorization code, a used device code stays
		// ErrAlreadyUsed after it expires, so a replay is always told.
		for _, now := range []time.Time{first.Add(time.Second), expiry.Add(time.Minute)} {
			got, err = s.RedeemDeviceCode(t.Context(), tenantA, "h1", now)
			mustIs(t, err, ports.ErrAlreadyUsed, "RedeemDeviceCode again")
			if got == nil {
				t.Fatal("RedeemDeviceCode of a used request returned no request")
			}
			checkEqual(t, want, got)
		}
	})

	t.Run("requests that cannot be redeemed return ErrNotFound and change nothing", func(t *testing.T) {
		at := baseTime()
		expiry := newDeviceCode(tenantA, "h1", "WDJBMJHT", at).ExpiresAt
		tests := []struct {
			name, tenant, hash string
			decision           string // empty: left pending
			now                time.Time
		}{
			{"pending request", tenantA, "h1", "", at},
			{"denied request", tenantA, "h1", ports.DeviceDenied, at},
			{"approved request expired at now", tenantA, "h1", ports.DeviceApproved, expiry},
			{"unknown hash", tenantA, "h2", ports.DeviceApproved, at},
			{"hash of another tenant", tenantB, "h1", ports.DeviceApproved, at},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				want := newDeviceCode(tenantA, "h1", "WDJBMJHT", at)
				mustNil(t, s.CreateDeviceCode(t.Context(), newDeviceCode(tenantA, "h1", "WDJBMJHT", at)), "CreateDeviceCode")
				if tt.decision != "" {
					mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, "WDJBMJHT", tt.decision, "u1", "s1", at, at, nil), "DecideDeviceCode")
					decided(want, tt.decision, "u1", "s1", at)
				}
				_, err := s.RedeemDeviceCode(t.Context(), tt.tenant, tt.hash, tt.now)
				mustIs(t, err, ports.ErrNotFound, "RedeemDeviceCode")
				checkEqual(t, want, getDeviceCode(t, s, tenantA, "WDJBMJHT", at))
			})
		}
	})
}
