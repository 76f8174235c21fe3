package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

const cibaColumns = `tenant, hash, decision_hash, client_id, user_id, scope, binding_message, delivery_mode,
	ping, status, session_id, auth_time, poll_interval_ns, last_polled_at, created_at, expires_at, used_at`

var (
	qCreateCIBARequest = newQuery(`INSERT INTO ciba_requests (` + cibaColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetCIBAByDecision = newQuery(`SELECT ` + cibaColumns + ` FROM ciba_requests
	WHERE tenant = ? AND decision_hash = ? AND expires_at > ?`)
	qGetCIBAByDecisionAnyTime = newQuery(`SELECT ` + cibaColumns + ` FROM ciba_requests
	WHERE tenant = ? AND decision_hash = ?`)
	qGetCIBARequest          = newQuery(`SELECT ` + cibaColumns + ` FROM ciba_requests WHERE tenant = ? AND hash = ?`)
	qGetCIBARequestForUpdate = newForUpdateQuery(`SELECT ` + cibaColumns + ` FROM ciba_requests WHERE tenant = ? AND hash = ?`)
	// The status condition decides the race: once one decision commits,
	// the row no longer matches for the others.
	qDecideCIBARequest = newQuery(`UPDATE ciba_requests SET status = ?, session_id = ?, auth_time = ?
	WHERE tenant = ? AND decision_hash = ? AND status = '` + ports.CIBAPending + `' AND expires_at > ?`)
	qPollCIBARequest   = newQuery(`UPDATE ciba_requests SET last_polled_at = ? WHERE tenant = ? AND hash = ?`)
	qRedeemCIBARequest = newQuery(`UPDATE ciba_requests SET used_at = ?
	WHERE tenant = ? AND hash = ? AND status = '` + ports.CIBAApproved + `' AND used_at IS NULL AND expires_at > ?
	RETURNING ` + cibaColumns)
)

func scanCIBARequest(row scanner) (*ports.CIBARequest, error) {
	var (
		r        ports.CIBARequest
		interval int64
	)
	err := row.Scan(&r.Tenant, &r.Hash, &r.DecisionHash, &r.ClientID, &r.UserID, &r.Scope, &r.BindingMessage,
		&r.DeliveryMode, &r.Ping, &r.Status, &r.SessionID, nullTimeCol{&r.AuthTime}, &interval,
		nullTimeCol{&r.LastPolledAt}, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt}, nullTimeCol{&r.UsedAt})
	if err != nil {
		return nil, err
	}
	r.Interval = time.Duration(interval)
	return &r, nil
}

// CreateCIBARequest stores a new request. ErrConflict if the hash or the
// decision hash exists in the tenant.
func (s *Store) CreateCIBARequest(ctx context.Context, r *ports.CIBARequest, evs ...ports.Event) error {
	return s.exec(ctx, "create ciba request", evs, qCreateCIBARequest,
		r.Tenant, r.Hash, r.DecisionHash, r.ClientID, r.UserID, r.Scope, r.BindingMessage, r.DeliveryMode,
		nullBytesArg(r.Ping), r.Status, r.SessionID, s.nullTimeArg(r.AuthTime), int64(r.Interval),
		s.nullTimeArg(r.LastPolledAt), s.timeArg(r.CreatedAt), s.timeArg(r.ExpiresAt), s.nullTimeArg(r.UsedAt))
}

// GetCIBARequestByDecision returns the request whose decision id has the
// hash. ErrNotFound if absent or expired at now.
func (s *Store) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	r, err := scanCIBARequest(s.queryRow(ctx, qGetCIBAByDecision, tenant, decisionHash, s.timeArg(now)))
	if err != nil {
		return nil, translate("get ciba request", err)
	}
	return r, nil
}

// DecideCIBARequest moves a pending request to status in one conditional
// UPDATE, so that of concurrent decisions exactly one lands, and saves
// consent, if any, in the same transaction. ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	const op = "decide ciba request"
	if status != ports.CIBAApproved && status != ports.CIBADenied {
		return fmt.Errorf("sqlstore: %s: status %q is not a decision", op, status)
	}
	err := s.decide(ctx, op, consent, evs, qDecideCIBARequest,
		status, sessionID, s.timeArg(authTime), tenant, decisionHash, s.timeArg(now))
	if !errors.Is(err, ports.ErrNotFound) {
		return err
	}
	// No row matched: tell a decided request from an absent or expired one.
	r, err := scanCIBARequest(s.queryRow(ctx, qGetCIBAByDecisionAnyTime, tenant, decisionHash))
	if err != nil {
		return translate(op, err)
	}
	if !now.Before(r.ExpiresAt) {
		return fmt.Errorf("sqlstore: %s: expired: %w", op, ports.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: already %s: %w", op, r.Status, ports.ErrAlreadyUsed)
}

// PollCIBARequest records a poll at now and returns the request as it was
// before, in one transaction that locks the row, so that concurrent polls
// take turns and each sees the one before it. Expired requests are
// returned too; ErrNotFound if absent.
func (s *Store) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	var r *ports.CIBARequest
	err := s.write(ctx, "poll ciba request", func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		if r, err = scanCIBARequest(s.txQueryRow(ctx, tx, qGetCIBARequestForUpdate, tenant, hash)); err != nil {
			return nil, err
		}
		_, err = s.txExec(ctx, tx, qPollCIBARequest, s.timeArg(now), tenant, hash)
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RedeemCIBARequest marks an approved request used at now in one
// conditional UPDATE, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired.
func (s *Store) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	const op = "redeem ciba request"
	var r *ports.CIBARequest
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		r, err = scanCIBARequest(s.txQueryRow(ctx, tx, qRedeemCIBARequest, s.timeArg(now), tenant, hash, s.timeArg(now)))
		return nil, err
	})
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, ports.ErrNotFound) {
		return nil, err
	}
	r, err = scanCIBARequest(s.queryRow(ctx, qGetCIBARequest, tenant, hash))
	if err != nil {
		return nil, translate(op, err)
	}
	switch {
	case r.UsedAt != nil:
		return r, fmt.Errorf("sqlstore: %s: %w", op, ports.ErrAlreadyUsed)
	case !now.Before(r.ExpiresAt):
		return nil, fmt.Errorf("sqlstore: %s: expired: %w", op, ports.ErrNotFound)
	default:
		return nil, fmt.Errorf("sqlstore: %s: %s: %w", op, r.Status, ports.ErrNotFound)
	}
}
