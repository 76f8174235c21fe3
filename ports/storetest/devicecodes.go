package storetest

import (
	"context"
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

var deviceCodes = pendingKind[ports.DeviceCode]{
	kind: "DeviceCode", noun: "device code", nameNoun: "user code", name: "WDJBMJHT", otherName: "OTHERCODE",
	newReq:  newDeviceCode,
	nameOf:  func(d *ports.DeviceCode) string { return d.UserCode },
	decided: decided,
	with: func(d *ports.DeviceCode, clientID string, lastPolled, used *time.Time) *ports.DeviceCode {
		if clientID != "" {
			d.ClientID = clientID
		}
		if lastPolled != nil {
			d.LastPolledAt = lastPolled
		}
		if used != nil {
			d.UsedAt = used
		}
		return d
	},
	expiry: func(d *ports.DeviceCode) time.Time { return d.ExpiresAt },
	usedAt: func(d *ports.DeviceCode) *time.Time { return d.UsedAt },
	create: func(ctx context.Context, s ports.Store, d *ports.DeviceCode) error { return s.CreateDeviceCode(ctx, d) },
	get:    ports.Store.GetDeviceCodeByUserCode,
	decide: func(ctx context.Context, s ports.Store, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent) error {
		return s.DecideDeviceCode(ctx, tenant, userCode, status, userID, sessionID, authTime, now, consent)
	},
	poll:     ports.Store.PollDeviceCode,
	redeem:   ports.Store.RedeemDeviceCode,
	approved: ports.DeviceApproved, denied: ports.DeviceDenied,
	readBack: []pendingCase[ports.DeviceCode]{
		{"pending request", func(at time.Time) *ports.DeviceCode { return newDeviceCode(tenantA, "h1", "WDJBMJHT", at) }},
		{"request with every optional field set", func(at time.Time) *ports.DeviceCode {
			d := decided(newDeviceCode(tenantA, "h2", "BCDFGHJK", at), ports.DeviceApproved, "u1", "s1", at.Add(-time.Minute))
			d.Interval = 7*time.Second + 250*time.Millisecond
			d.LastPolledAt = ptr(at.Add(time.Second))
			d.UsedAt = ptr(at.Add(2 * time.Second))
			return d
		}},
	},
	unknownNames: []lookup{
		{"unknown user code", tenantA, "NOSUCHCODE"},
		{"user code of another tenant", tenantB, "WDJBMJHT"},
	},
	unknownHashes: []lookup{
		{"unknown hash", tenantA, "h2"},
		{"hash of another tenant", tenantB, "h1"},
	},
}

func testDeviceCodes(t *testing.T, open opener) {
	testPending(t, open, deviceCodes)

	t.Run("polling an expired request returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		d := newDeviceCode(tenantA, "h1", "WDJBMJHT", at)
		mustNil(t, s.CreateDeviceCode(t.Context(), d), "CreateDeviceCode")
		_, err := s.PollDeviceCode(t.Context(), tenantA, "h1", d.ExpiresAt)
		mustIs(t, err, ports.ErrNotFound, "PollDeviceCode at expiry")
		checkEqual(t, d, deviceCodes.mustGet(t, s, tenantA, "WDJBMJHT", at))
	})
}
