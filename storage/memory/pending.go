package memory

import (
	"context"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

// pending is one kind of request that waits for a person's decision
// while its client polls for the outcome: device codes (RFC 8628) and
// backchannel authentication requests (CIBA). Both live the same way:
// created pending, decided once (approved or denied, with the consent
// that comes with an approval), polled with the time of each poll kept,
// and, once approved, redeemed exactly once. Each is found by its hash
// (what the client polls with) and by a second name (what the person
// decides with: the user code, the decision hash).
type pending[T any] struct {
	rows  map[key]*T
	names map[key]string // tenant and second name -> hash
	copy  func(*T) *T
	// fields points into a request at what the shared lifecycle reads
	// and changes.
	fields func(*T) pendingFields
	// pending and approved are the request kind's states of that name.
	pending, approved string
}

// pendingFields are the fields of a request its lifecycle reads and
// changes.
type pendingFields struct {
	status               *string
	expiresAt            time.Time
	lastPolledAt, usedAt **time.Time
	sessionID            *string
	authTime             **time.Time
}

// byName returns the request with the second name, live or not, or nil.
// s.mu is held.
func (k pending[T]) byName(tenant, name string) *T {
	hash, ok := k.names[key{tenant, name}]
	if !ok {
		return nil
	}
	return k.rows[key{tenant, hash}]
}

// create stores r under its hash and second name. ErrConflict if either
// exists in the tenant.
func (k pending[T]) create(ctx context.Context, s *Store, method, tenant, hash, name string, r *T, evs []ports.Event) error {
	return s.write(ctx, method, evs, func() ([]ports.Event, func(), error) {
		hk, nk := key{tenant, hash}, key{tenant, name}
		if k.rows[hk] != nil {
			return nil, nil, ports.ErrConflict
		}
		if _, taken := k.names[nk]; taken {
			return nil, nil, ports.ErrConflict
		}
		stored := k.copy(r)
		return evs, func() {
			k.rows[hk] = stored
			k.names[nk] = hash
		}, nil
	})
}

// get returns the request with the second name. ErrNotFound if absent or
// expired at now.
func (k pending[T]) get(ctx context.Context, s *Store, method, tenant, name string, now time.Time) (*T, error) {
	var out *T
	err := s.read(ctx, method, func() error {
		r := k.byName(tenant, name)
		if r == nil || !live(k.fields(r).expiresAt, now) {
			return errorf(method, ports.ErrNotFound)
		}
		out = k.copy(r)
		return nil
	})
	return out, err
}

// decide moves the pending request with the second name to status,
// recording the deciding session (and what set adds, if not nil), and
// saves consent, if any, in the same change. ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (k pending[T]) decide(ctx context.Context, s *Store, method, tenant, name, status, sessionID string, authTime, now time.Time, set func(*T), consent *ports.Consent, evs []ports.Event) error {
	return s.write(ctx, method, evs, func() ([]ports.Event, func(), error) {
		r := k.byName(tenant, name)
		if r == nil {
			return nil, nil, ports.ErrNotFound
		}
		f := k.fields(r)
		switch {
		case !live(f.expiresAt, now):
			return nil, nil, fmt.Errorf("expired: %w", ports.ErrNotFound)
		case *f.status != k.pending:
			return nil, nil, fmt.Errorf("already %s: %w", *f.status, ports.ErrAlreadyUsed)
		}
		at := ts(authTime)
		return evs, func() {
			*f.status, *f.sessionID, *f.authTime = status, sessionID, &at
			if set != nil {
				set(r)
			}
			if consent != nil {
				s.saveConsent(consent)
			}
		}, nil
	})
}

// poll records a poll at now and returns the request as it was before.
// ErrNotFound if absent, or, when liveOnly, expired at now.
func (k pending[T]) poll(ctx context.Context, s *Store, method, tenant, hash string, now time.Time, liveOnly bool) (*T, error) {
	var out *T
	err := s.write(ctx, method, nil, func() ([]ports.Event, func(), error) {
		r := k.rows[key{tenant, hash}]
		if r == nil || liveOnly && !live(k.fields(r).expiresAt, now) {
			return nil, nil, ports.ErrNotFound
		}
		return nil, func() {
			out = k.copy(r)
			*k.fields(r).lastPolledAt = tsp(&now)
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// redeem marks an approved request used at now, so that of concurrent
// calls exactly one succeeds. ErrNotFound if absent, expired or not
// approved. A request used before comes back with ErrAlreadyUsed, even
// once expired, as RedeemAuthCode does.
func (k pending[T]) redeem(ctx context.Context, s *Store, method, tenant, hash string, now time.Time) (*T, error) {
	var (
		out  *T
		used bool
	)
	err := s.write(ctx, method, nil, func() ([]ports.Event, func(), error) {
		r := k.rows[key{tenant, hash}]
		if r == nil {
			return nil, nil, ports.ErrNotFound
		}
		f := k.fields(r)
		switch {
		case *f.usedAt != nil:
			used, out = true, k.copy(r)
			return nil, nil, nil
		case !live(f.expiresAt, now):
			return nil, nil, fmt.Errorf("expired: %w", ports.ErrNotFound)
		case *f.status != k.approved:
			return nil, nil, fmt.Errorf("%s: %w", *f.status, ports.ErrNotFound)
		}
		return nil, func() {
			*f.usedAt = tsp(&now)
			out = k.copy(r)
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

// checkDecision refuses a status that is not a decision.
func checkDecision(method, status, approved, denied string) error {
	if status != approved && status != denied {
		return fmt.Errorf("memory: %s: status %q is not a decision", method, status)
	}
	return nil
}
