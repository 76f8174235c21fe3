package sqlstore

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

var deviceCodes = newPendingTable(pendingKind{
	noun: "device code", table: "device_codes",
	columns: `tenant, hash, user_code, client_id, scope, status, user_id, session_id,
	auth_time, poll_interval_ns, last_polled_at, created_at, expires_at, used_at`,
	name: "user_code", decideSet: "status = ?, user_id = ?, session_id = ?, auth_time = ?",
	pending: ports.DevicePending, approved: ports.DeviceApproved, denied: ports.DeviceDenied,
	pollLive: true,
}, scanDeviceCode, func(d *ports.DeviceCode) pendingState { return pendingState{d.Status, d.ExpiresAt, d.UsedAt} })

func scanDeviceCode(row scanner) (*ports.DeviceCode, error) {
	var (
		d        ports.DeviceCode
		interval int64
	)
	err := row.Scan(&d.Tenant, &d.Hash, &d.UserCode, &d.ClientID, &d.Scope, &d.Status, &d.UserID, &d.SessionID,
		nullTimeCol{&d.AuthTime}, &interval, nullTimeCol{&d.LastPolledAt}, timeCol{&d.CreatedAt},
		timeCol{&d.ExpiresAt}, nullTimeCol{&d.UsedAt})
	if err != nil {
		return nil, err
	}
	d.Interval = time.Duration(interval)
	return &d, nil
}

// CreateDeviceCode stores a new request. ErrConflict if the hash or the
// user code exists in the tenant.
func (s *Store) CreateDeviceCode(ctx context.Context, d *ports.DeviceCode) error {
	return s.exec(ctx, "create device code", nil, deviceCodes.create,
		d.Tenant, d.Hash, d.UserCode, d.ClientID, d.Scope, d.Status, d.UserID, d.SessionID,
		s.nullTimeArg(d.AuthTime), int64(d.Interval), s.nullTimeArg(d.LastPolledAt), s.timeArg(d.CreatedAt),
		s.timeArg(d.ExpiresAt), s.nullTimeArg(d.UsedAt))
}

// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
// expired at now.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	return deviceCodes.get(ctx, s, tenant, userCode, now)
}

// DecideDeviceCode moves a pending request to status for userID in one
// conditional UPDATE, so that of concurrent decisions exactly one lands,
// and saves consent, if any, in the same transaction. ErrNotFound if
// absent or expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return deviceCodes.decideRow(ctx, s, tenant, userCode, status, now, consent, evs,
		status, userID, sessionID, s.timeArg(authTime))
}

// PollDeviceCode records a poll at now and returns the request as it was
// before, in one transaction that locks the row, so that concurrent polls
// take turns and each sees the one before it. ErrNotFound if absent or
// expired at now.
func (s *Store) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return deviceCodes.pollRow(ctx, s, tenant, hash, now)
}

// RedeemDeviceCode marks an approved request used at now in one
// conditional UPDATE, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired, as RedeemAuthCode
// does.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return deviceCodes.redeemRow(ctx, s, tenant, hash, now)
}
