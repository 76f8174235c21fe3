package sqlstore

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

var cibaRequests = newPendingTable(pendingKind{
	noun: "ciba request", table: "ciba_requests",
	columns: `tenant, hash, decision_hash, client_id, user_id, scope, binding_message, delivery_mode,
	ping, status, session_id, auth_time, poll_interval_ns, last_polled_at, created_at, expires_at, used_at`,
	name: "decision_hash", decideSet: "status = ?, session_id = ?, auth_time = ?",
	pending: ports.CIBAPending, approved: ports.CIBAApproved, denied: ports.CIBADenied,
}, scanCIBARequest, func(r *ports.CIBARequest) pendingState { return pendingState{r.Status, r.ExpiresAt, r.UsedAt} })

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
	return s.exec(ctx, "create ciba request", evs, cibaRequests.create,
		r.Tenant, r.Hash, r.DecisionHash, r.ClientID, r.UserID, r.Scope, r.BindingMessage, r.DeliveryMode,
		nullBytesArg(r.Ping), r.Status, r.SessionID, s.nullTimeArg(r.AuthTime), int64(r.Interval),
		s.nullTimeArg(r.LastPolledAt), s.timeArg(r.CreatedAt), s.timeArg(r.ExpiresAt), s.nullTimeArg(r.UsedAt))
}

// GetCIBARequestByDecision returns the request whose decision id has the
// hash. ErrNotFound if absent or expired at now.
func (s *Store) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	return cibaRequests.get(ctx, s, tenant, decisionHash, now)
}

// DecideCIBARequest moves a pending request to status in one conditional
// UPDATE, so that of concurrent decisions exactly one lands, and saves
// consent, if any, in the same transaction. ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return cibaRequests.decideRow(ctx, s, tenant, decisionHash, status, now, consent, evs,
		status, sessionID, s.timeArg(authTime))
}

// PollCIBARequest records a poll at now and returns the request as it was
// before, in one transaction that locks the row, so that concurrent polls
// take turns and each sees the one before it. Expired requests are
// returned too; ErrNotFound if absent.
func (s *Store) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return cibaRequests.pollRow(ctx, s, tenant, hash, now)
}

// RedeemCIBARequest marks an approved request used at now in one
// conditional UPDATE, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired.
func (s *Store) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return cibaRequests.redeemRow(ctx, s, tenant, hash, now)
}
