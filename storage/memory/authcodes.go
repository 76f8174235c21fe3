package memory

import (
	"context"
	"slices"
	"time"

	"oauth2-server.dev/ports"
)

// copyAuthCode is c as the store keeps and returns it.
func copyAuthCode(c *ports.AuthorizationCode) *ports.AuthorizationCode {
	cc := *c
	cc.Resources = slices.Clone(c.Resources)
	cc.AuthTime, cc.CreatedAt, cc.ExpiresAt = ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt)
	cc.UsedAt = tsp(c.UsedAt)
	return &cc
}

// CreateAuthCode stores a new code. ErrConflict if the hash exists.
func (s *Store) CreateAuthCode(ctx context.Context, c *ports.AuthorizationCode, evs ...ports.Event) error {
	return s.write(ctx, "CreateAuthCode", evs, func() ([]ports.Event, func(), error) {
		k := key{c.Tenant, c.Hash}
		if s.codes[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		stored := copyAuthCode(c)
		return evs, func() { s.codes[k] = stored }, nil
	})
}

// GetAuthCode returns the code, with UsedAt set if it was redeemed.
// ErrNotFound if absent, or unused and expired at now.
func (s *Store) GetAuthCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.AuthorizationCode, error) {
	var out *ports.AuthorizationCode
	err := s.read(ctx, "GetAuthCode", func() error {
		c := s.codes[key{tenant, hash}]
		if c == nil || c.UsedAt == nil && !live(c.ExpiresAt, now) {
			return errorf("GetAuthCode", ports.ErrNotFound)
		}
		out = copyAuthCode(c)
		return nil
	})
	return out, err
}

// RedeemAuthCode marks the code used at now and stores the tokens it buys
// in one change. ErrNotFound if the code is absent or expired at now. A
// code used before revokes its grant in the same change and comes back
// with ErrAlreadyUsed, even once expired (RFC 6749 §4.1.2).
func (s *Store) RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error) {
	var out *ports.AuthorizationCode
	err := s.spend(ctx, "RedeemAuthCode", tenant, now, r.Issued, r.Events, r.ReplayEvents, func() (singleUse, bool) {
		c := s.codes[key{tenant, hash}]
		if c == nil {
			return singleUse{}, false
		}
		return singleUse{
			usedAt:  &c.UsedAt,
			grantID: c.GrantID,
			usable:  live(c.ExpiresAt, now),
			copyOut: func() { out = copyAuthCode(c) },
		}, true
	})
	return out, err
}
