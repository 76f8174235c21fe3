package memory

import (
	"context"
	"fmt"
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

// deviceByUserCode returns the request with the user code, live or not,
// or nil. s.mu is held.
func (s *Store) deviceByUserCode(tenant, userCode string) *ports.DeviceCode {
	hash, ok := s.userCodes[key{tenant, userCode}]
	if !ok {
		return nil
	}
	return s.devices[key{tenant, hash}]
}

// CreateDeviceCode stores a new request. ErrConflict if the hash or the
// user code exists in the tenant.
func (s *Store) CreateDeviceCode(ctx context.Context, d *ports.DeviceCode) error {
	return s.write(ctx, "CreateDeviceCode", nil, func() ([]ports.Event, func(), error) {
		k, uc := key{d.Tenant, d.Hash}, key{d.Tenant, d.UserCode}
		if s.devices[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		if _, taken := s.userCodes[uc]; taken {
			return nil, nil, ports.ErrConflict
		}
		stored := copyDeviceCode(d)
		return nil, func() {
			s.devices[k] = stored
			s.userCodes[uc] = d.Hash
		}, nil
	})
}

// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
// expired at now.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	var out *ports.DeviceCode
	err := s.read(ctx, "GetDeviceCodeByUserCode", func() error {
		d := s.deviceByUserCode(tenant, userCode)
		if d == nil || !live(d.ExpiresAt, now) {
			return errorf("GetDeviceCodeByUserCode", ports.ErrNotFound)
		}
		out = copyDeviceCode(d)
		return nil
	})
	return out, err
}

// DecideDeviceCode moves a pending request to status for userID, and
// saves consent, if any, in the same change. ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	const method = "DecideDeviceCode"
	if status != ports.DeviceApproved && status != ports.DeviceDenied {
		return fmt.Errorf("memory: %s: status %q is not a decision", method, status)
	}
	return s.write(ctx, method, evs, func() ([]ports.Event, func(), error) {
		d := s.deviceByUserCode(tenant, userCode)
		switch {
		case d == nil:
			return nil, nil, ports.ErrNotFound
		case !live(d.ExpiresAt, now):
			return nil, nil, fmt.Errorf("expired: %w", ports.ErrNotFound)
		case d.Status != ports.DevicePending:
			return nil, nil, fmt.Errorf("already %s: %w", d.Status, ports.ErrAlreadyUsed)
		}
		at := ts(authTime)
		return evs, func() {
			d.Status, d.UserID, d.SessionID, d.AuthTime = status, userID, sessionID, &at
			if consent != nil {
				s.saveConsent(consent)
			}
		}, nil
	})
}

// PollDeviceCode records a poll at now and returns the request as it was
// before. ErrNotFound if absent or expired at now.
func (s *Store) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	var out *ports.DeviceCode
	err := s.write(ctx, "PollDeviceCode", nil, func() ([]ports.Event, func(), error) {
		d := s.devices[key{tenant, hash}]
		if d == nil || !live(d.ExpiresAt, now) {
			return nil, nil, ports.ErrNotFound
		}
		return nil, func() {
			out = copyDeviceCode(d)
			d.LastPolledAt = tsp(&now)
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RedeemDeviceCode marks an approved request used at now, so that of
// concurrent calls exactly one succeeds. ErrNotFound if absent, expired or
// not approved. A request used before comes back with ErrAlreadyUsed, even
// once expired, as RedeemAuthCode does.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	const method = "RedeemDeviceCode"
	var (
		out  *ports.DeviceCode
		used bool
	)
	err := s.write(ctx, method, nil, func() ([]ports.Event, func(), error) {
		d := s.devices[key{tenant, hash}]
		switch {
		case d == nil:
			return nil, nil, ports.ErrNotFound
		case d.UsedAt != nil:
			used, out = true, copyDeviceCode(d)
			return nil, nil, nil
		case !live(d.ExpiresAt, now):
			return nil, nil, fmt.Errorf("expired: %w", ports.ErrNotFound)
		case d.Status != ports.DeviceApproved:
			return nil, nil, fmt.Errorf("%s: %w", d.Status, ports.ErrNotFound)
		}
		return nil, func() {
			d.UsedAt = tsp(&now)
			out = copyDeviceCode(d)
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
