package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

const deviceCodeColumns = `tenant, hash, user_code, client_id, scope, status, user_id, session_id,
	auth_time, poll_interval_ns, last_polled_at, created_at, expires_at, used_at`

var (
	qCreateDeviceCode = newQuery(`INSERT INTO device_codes (` + deviceCodeColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetDeviceCodeByUserCode = newQuery(`SELECT ` + deviceCodeColumns + ` FROM device_codes
	WHERE tenant = ? AND user_code = ? AND expires_at > ?`)
	qGetDeviceCodeByUserCodeAnyTime = newQuery(`SELECT ` + deviceCodeColumns + ` FROM device_codes
	WHERE tenant = ? AND user_code = ?`)
	qGetDeviceCode = newQuery(`SELECT ` + deviceCodeColumns + ` FROM device_codes WHERE tenant = ? AND hash = ?`)
	// The status condition decides the race: once one decision commits,
	// the row no longer matches for the others.
	qDecideDeviceCode = newQuery(`UPDATE device_codes SET status = ?, user_id = ?, session_id = ?, auth_time = ?
	WHERE tenant = ? AND user_code = ? AND status = '` + ports.DevicePending + `' AND expires_at > ?`)
	qLiveDeviceCode = newForUpdateQuery(`SELECT ` + deviceCodeColumns + ` FROM device_codes
	WHERE tenant = ? AND hash = ? AND expires_at > ?`)
	qPollDeviceCode   = newQuery(`UPDATE device_codes SET last_polled_at = ? WHERE tenant = ? AND hash = ?`)
	qRedeemDeviceCode = newQuery(`UPDATE device_codes SET used_at = ?
	WHERE tenant = ? AND hash = ? AND status = '` + ports.DeviceApproved + `' AND used_at IS NULL AND expires_at > ?
	RETURNING ` + deviceCodeColumns)
)

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
	return s.exec(ctx, "create device code", nil, qCreateDeviceCode,
		d.Tenant, d.Hash, d.UserCode, d.ClientID, d.Scope, d.Status, d.UserID, d.SessionID,
		s.nullTimeArg(d.AuthTime), int64(d.Interval), s.nullTimeArg(d.LastPolledAt), s.timeArg(d.CreatedAt),
		s.timeArg(d.ExpiresAt), s.nullTimeArg(d.UsedAt))
}

// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
// expired at now.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	d, err := scanDeviceCode(s.queryRow(ctx, qGetDeviceCodeByUserCode, tenant, userCode, s.timeArg(now)))
	if err != nil {
		return nil, translate("get device code", err)
	}
	return d, nil
}

// DecideDeviceCode moves a pending request to status for userID in one
// conditional UPDATE, so that of concurrent decisions exactly one lands,
// and saves consent, if any, in the same transaction. ErrNotFound if
// absent or expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	if status != ports.DeviceApproved && status != ports.DeviceDenied {
		return fmt.Errorf("sqlstore: decide device code: status %q is not a decision", status)
	}
	err := s.decide(ctx, "decide device code", consent, evs, qDecideDeviceCode,
		status, userID, sessionID, s.timeArg(authTime), tenant, userCode, s.timeArg(now))
	if !errors.Is(err, ports.ErrNotFound) {
		return err
	}
	// No row matched: tell a decided request from an absent or expired one.
	d, err := scanDeviceCode(s.queryRow(ctx, qGetDeviceCodeByUserCodeAnyTime, tenant, userCode))
	if err != nil {
		return translate("decide device code", err)
	}
	if !now.Before(d.ExpiresAt) {
		return fmt.Errorf("sqlstore: decide device code: expired: %w", ports.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: decide device code: already %s: %w", d.Status, ports.ErrAlreadyUsed)
}

// PollDeviceCode records a poll at now and returns the request as it was
// before, in one transaction that locks the row, so that concurrent polls
// take turns and each sees the one before it. ErrNotFound if absent or
// expired at now.
func (s *Store) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	var d *ports.DeviceCode
	err := s.write(ctx, "poll device code", func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		if d, err = scanDeviceCode(s.txQueryRow(ctx, tx, qLiveDeviceCode, tenant, hash, s.timeArg(now))); err != nil {
			return nil, err
		}
		_, err = s.txExec(ctx, tx, qPollDeviceCode, s.timeArg(now), tenant, hash)
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RedeemDeviceCode marks an approved request used at now in one
// conditional UPDATE, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired, as RedeemAuthCode
// does.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	var d *ports.DeviceCode
	err := s.write(ctx, "redeem device code", func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		d, err = scanDeviceCode(s.txQueryRow(ctx, tx, qRedeemDeviceCode, s.timeArg(now), tenant, hash, s.timeArg(now)))
		return nil, err
	})
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, ports.ErrNotFound) {
		return nil, err
	}
	d, err = scanDeviceCode(s.queryRow(ctx, qGetDeviceCode, tenant, hash))
	if err != nil {
		return nil, translate("redeem device code", err)
	}
	switch {
	case d.UsedAt != nil:
		return d, fmt.Errorf("sqlstore: redeem device code: %w", ports.ErrAlreadyUsed)
	case !now.Before(d.ExpiresAt):
		return nil, fmt.Errorf("sqlstore: redeem device code: expired: %w", ports.ErrNotFound)
	default:
		return nil, fmt.Errorf("sqlstore: redeem device code: %s: %w", d.Status, ports.ErrNotFound)
	}
}
