package memory

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// copyCIBARequest is r as the store keeps and returns it.
func copyCIBARequest(r *ports.CIBARequest) *ports.CIBARequest {
	c := *r
	c.Ping = optionalBytes(r.Ping)
	c.AuthTime, c.LastPolledAt, c.UsedAt = tsp(r.AuthTime), tsp(r.LastPolledAt), tsp(r.UsedAt)
	c.CreatedAt, c.ExpiresAt = ts(r.CreatedAt), ts(r.ExpiresAt)
	return &c
}

// cibaRequests are the backchannel authentication requests, found by
// hash and by decision hash.
func (s *Store) cibaRequests() pending[ports.CIBARequest] {
	return pending[ports.CIBARequest]{
		rows: s.ciba, names: s.decisions, copy: copyCIBARequest,
		fields: func(r *ports.CIBARequest) pendingFields {
			return pendingFields{&r.Status, r.ExpiresAt, &r.LastPolledAt, &r.UsedAt, &r.SessionID, &r.AuthTime}
		},
		pending: ports.CIBAPending, approved: ports.CIBAApproved,
	}
}

// CreateCIBARequest stores a new request. ErrConflict if the hash or the
// decision hash exists in the tenant.
func (s *Store) CreateCIBARequest(ctx context.Context, r *ports.CIBARequest, evs ...ports.Event) error {
	return s.cibaRequests().create(ctx, s, "CreateCIBARequest", r.Tenant, r.Hash, r.DecisionHash, r, evs)
}

// GetCIBARequestByDecision returns the request whose decision id has the
// hash. ErrNotFound if absent or expired at now.
func (s *Store) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	return s.cibaRequests().get(ctx, s, "GetCIBARequestByDecision", tenant, decisionHash, now)
}

// DecideCIBARequest moves a pending request to status, recording the
// deciding session, and saves consent, if any, in the same change.
// ErrNotFound if absent or expired at now; ErrAlreadyUsed if decided
// before.
func (s *Store) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	const method = "DecideCIBARequest"
	if err := checkDecision(method, status, ports.CIBAApproved, ports.CIBADenied); err != nil {
		return err
	}
	return s.cibaRequests().decide(ctx, s, method, tenant, decisionHash, status, sessionID, authTime, now, nil, consent, evs)
}

// PollCIBARequest records a poll at now and returns the request as it was
// before. Expired requests are returned too; ErrNotFound if absent.
func (s *Store) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return s.cibaRequests().poll(ctx, s, "PollCIBARequest", tenant, hash, now, false)
}

// RedeemCIBARequest marks an approved request used at now, so that of
// concurrent calls exactly one succeeds. ErrNotFound if absent, expired or
// not approved. A request used before comes back with ErrAlreadyUsed,
// even once expired.
func (s *Store) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return s.cibaRequests().redeem(ctx, s, "RedeemCIBARequest", tenant, hash, now)
}
