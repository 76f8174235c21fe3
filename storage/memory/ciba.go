package memory

import (
	"context"
	"fmt"
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

// cibaByDecision returns the request whose decision id has the hash, live
// or not, or nil. s.mu is held.
func (s *Store) cibaByDecision(tenant, decisionHash string) *ports.CIBARequest {
	hash, ok := s.decisions[key{tenant, decisionHash}]
	if !ok {
		return nil
	}
	return s.ciba[key{tenant, hash}]
}

// CreateCIBARequest stores a new request. ErrConflict if the hash or the
// decision hash exists in the tenant.
func (s *Store) CreateCIBARequest(ctx context.Context, r *ports.CIBARequest, evs ...ports.Event) error {
	return s.write(ctx, "CreateCIBARequest", evs, func() ([]ports.Event, func(), error) {
		k, dk := key{r.Tenant, r.Hash}, key{r.Tenant, r.DecisionHash}
		if s.ciba[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		if _, taken := s.decisions[dk]; taken {
			return nil, nil, ports.ErrConflict
		}
		stored := copyCIBARequest(r)
		return evs, func() {
			s.ciba[k] = stored
			s.decisions[dk] = r.Hash
		}, nil
	})
}

// GetCIBARequestByDecision returns the request whose decision id has the
// hash. ErrNotFound if absent or expired at now.
func (s *Store) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	var out *ports.CIBARequest
	err := s.read(ctx, "GetCIBARequestByDecision", func() error {
		r := s.cibaByDecision(tenant, decisionHash)
		if r == nil || !live(r.ExpiresAt, now) {
			return errorf("GetCIBARequestByDecision", ports.ErrNotFound)
		}
		out = copyCIBARequest(r)
		return nil
	})
	return out, err
}

// DecideCIBARequest moves a pending request to status, recording the
// deciding session, and saves consent, if any, in the same change.
// ErrNotFound if absent or expired at now; ErrAlreadyUsed if decided
// before.
func (s *Store) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	const method = "DecideCIBARequest"
	if status != ports.CIBAApproved && status != ports.CIBADenied {
		return fmt.Errorf("memory: %s: status %q is not a decision", method, status)
	}
	return s.write(ctx, method, evs, func() ([]ports.Event, func(), error) {
		r := s.cibaByDecision(tenant, decisionHash)
		switch {
		case r == nil:
			return nil, nil, ports.ErrNotFound
		case !live(r.ExpiresAt, now):
			return nil, nil, fmt.Errorf("expired: %w", ports.ErrNotFound)
		case r.Status != ports.CIBAPending:
			return nil, nil, fmt.Errorf("already %s: %w", r.Status, ports.ErrAlreadyUsed)
		}
		at := ts(authTime)
		return evs, func() {
			r.Status, r.SessionID, r.AuthTime = status, sessionID, &at
			if consent != nil {
				s.saveConsent(consent)
			}
		}, nil
	})
}

// PollCIBARequest records a poll at now and returns the request as it was
// before. Expired requests are returned too; ErrNotFound if absent.
func (s *Store) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	var out *ports.CIBARequest
	err := s.write(ctx, "PollCIBARequest", nil, func() ([]ports.Event, func(), error) {
		r := s.ciba[key{tenant, hash}]
		if r == nil {
			return nil, nil, ports.ErrNotFound
		}
		return nil, func() {
			out = copyCIBARequest(r)
			r.LastPolledAt = tsp(&now)
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RedeemCIBARequest marks an approved request used at now, so that of
// concurrent calls exactly one succeeds. ErrNotFound if absent, expired or
// not approved. A request used before comes back with ErrAlreadyUsed,
// even once expired.
func (s *Store) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	const method = "RedeemCIBARequest"
	var (
		out  *ports.CIBARequest
		used bool
	)
	err := s.write(ctx, method, nil, func() ([]ports.Event, func(), error) {
		r := s.ciba[key{tenant, hash}]
		switch {
		case r == nil:
			return nil, nil, ports.ErrNotFound
		case r.UsedAt != nil:
			used, out = true, copyCIBARequest(r)
			return nil, nil, nil
		case !live(r.ExpiresAt, now):
			return nil, nil, fmt.Errorf("expired: %w", ports.ErrNotFound)
		case r.Status != ports.CIBAApproved:
			return nil, nil, fmt.Errorf("%s: %w", r.Status, ports.ErrNotFound)
		}
		return nil, func() {
			r.UsedAt = tsp(&now)
			out = copyCIBARequest(r)
		}, nil
	})
	switch {
	case err != nil:
		return nil, err
	case used:
		return out, errorf(method, ports.ErrAlreadyUsed)
	}
	return out, nil
}
