package memory

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// copyDeviceCode is d as the store keeps and returns it.
func copyDeviceCode(d *ports.DeviceCode) *ports.DeviceCode {
	c := *d
	c.AuthTime, c.LastPolledAt, c.UsedAt = tsp(d.AuthTime), tsp(d.LastPolledAt), tsp(d.UsedAt)
	c.CreatedAt, c.ExpiresAt = ts(d.CreatedAt), ts(d.ExpiresAt)
	return &c
}

// deviceCodes are the device authorization requests, found by hash and
// by user code.
func (s *Store) deviceCodes() pending[ports.DeviceCode] {
	return pending[ports.DeviceCode]{
		rows: s.devices, names: s.userCodes, copy: copyDeviceCode,
		fields: func(d *ports.DeviceCode) pendingFields {
			return pendingFields{&d.Status, d.ExpiresAt, &d.LastPolledAt, &d.UsedAt, &d.SessionID, &d.AuthTime}
		},
		pending: ports.DevicePending, approved: ports.DeviceApproved,
	}
}

// CreateDeviceCode stores a new request. ErrConflict if the hash or the
// user code exists in the tenant.
func (s *Store) CreateDeviceCode(ctx context.Context, d *ports.DeviceCode) error {
	return s.deviceCodes().create(ctx, s, "CreateDeviceCode", d.Tenant, d.Hash, d.UserCode, d, nil)
}

// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
// expired at now.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	return s.deviceCodes().get(ctx, s, "GetDeviceCodeByUserCode", tenant, userCode, now)
}

// DecideDeviceCode moves a pending request to status for userID, and
// saves consent, if any, in the same change. ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	const method = "DecideDeviceCode"
	if err := checkDecision(method, status, ports.DeviceApproved, ports.DeviceDenied); err != nil {
		return err
	}
	setUser := func(d *ports.DeviceCode) { d.UserID = userID }
	return s.deviceCodes().decide(ctx, s, method, tenant, userCode, status, sessionID, authTime, now, setUser, consent, evs)
}

// PollDeviceCode records a poll at now and returns the request as it was
// before. ErrNotFound if absent or expired at now.
func (s *Store) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return s.deviceCodes().poll(ctx, s, "PollDeviceCode", tenant, hash, now, true)
}

// RedeemDeviceCode marks an approved request used at now, so that of
// concurrent calls exactly one succeeds. ErrNotFound if absent, expired or
// not approved. A request used before comes back with ErrAlreadyUsed, even
// once expired, as RedeemAuthCode does.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return s.deviceCodes().redeem(ctx, s, "RedeemDeviceCode", tenant, hash, now)
}
