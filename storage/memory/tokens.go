package memory

import (
	"context"
	"slices"
	"time"

	"oauth2-server.dev/ports"
)

// copyToken is t as the store keeps and returns it.
func copyToken(t *ports.Token) *ports.Token {
	c := *t
	c.AuthTime, c.UsedAt, c.RevokedAt = tsp(t.AuthTime), tsp(t.UsedAt), tsp(t.RevokedAt)
	c.IssuedAt, c.ExpiresAt = ts(t.IssuedAt), ts(t.ExpiresAt)
	return &c
}

// insertable reports ErrConflict unless every token can be added: no id
// taken, none twice among tokens. s.mu is held.
func (s *Store) insertable(tokens []*ports.Token) error {
	seen := make(map[key]bool, len(tokens))
	for _, t := range tokens {
		k := key{t.Tenant, t.ID}
		if s.tokens[k] != nil || seen[k] {
			return ports.ErrConflict
		}
		seen[k] = true
	}
	return nil
}

// insertTokens adds tokens that insertable let through. s.mu is held.
func (s *Store) insertTokens(tokens []*ports.Token) {
	for _, t := range tokens {
		s.tokens[key{t.Tenant, t.ID}] = copyToken(t)
	}
}

// revokeTokens revokes at now every token that match selects and that is
// not revoked yet, and returns how many it revoked. A token revoked before
// keeps its first revocation time. s.mu is held.
func (s *Store) revokeTokens(now time.Time, match func(*ports.Token) bool) int {
	at, n := ts(now), 0
	for _, t := range s.tokens {
		if t.RevokedAt == nil && match(t) {
			revokedAt := at
			t.RevokedAt = &revokedAt
			n++
		}
	}
	return n
}

// revokeGrant revokes the grant's tokens at now. s.mu is held.
func (s *Store) revokeGrant(tenant, grantID string, now time.Time) {
	s.revokeTokens(now, func(t *ports.Token) bool { return t.Tenant == tenant && t.GrantID == grantID })
}

// CreateTokens stores newly issued tokens in one change. ErrConflict if an
// id exists.
func (s *Store) CreateTokens(ctx context.Context, tokens []*ports.Token, evs ...ports.Event) error {
	return s.write(ctx, "CreateTokens", evs, func() ([]ports.Event, func(), error) {
		if err := s.insertable(tokens); err != nil {
			return nil, nil, err
		}
		return evs, func() { s.insertTokens(tokens) }, nil
	})
}

// GetToken returns a token whatever its state. ErrNotFound if absent.
func (s *Store) GetToken(ctx context.Context, tenant, id string) (*ports.Token, error) {
	var out *ports.Token
	err := s.read(ctx, "GetToken", func() error {
		t := s.tokens[key{tenant, id}]
		if t == nil {
			return errorf("GetToken", ports.ErrNotFound)
		}
		out = copyToken(t)
		return nil
	})
	return out, err
}

// singleUse is a code or refresh token found under s.mu, as spend needs it.
type singleUse struct {
	usedAt  **time.Time // its UsedAt field: nil until it is used
	grantID string
	// usable tells whether an unused credential may still be used at now.
	usable bool
	// copyOut hands the credential to the caller; it runs under s.mu.
	copyOut func()
}

// spend is the one change behind RedeemAuthCode and RotateRefreshToken: the
// credential find returns is marked used at now and the tokens it buys are
// stored along with events. ErrNotFound if find finds nothing or the
// credential is not usable. A credential used before is a replay: its grant
// is revoked, replayEvents are stored instead, and spend returns
// ErrAlreadyUsed after copyOut ran.
func (s *Store) spend(ctx context.Context, method, tenant string, now time.Time, issued []*ports.Token, events, replayEvents []ports.Event, find func() (singleUse, bool)) error {
	var replay bool
	err := s.write(ctx, method, slices.Concat(events, replayEvents), func() ([]ports.Event, func(), error) {
		c, ok := find()
		switch {
		case !ok:
			return nil, nil, ports.ErrNotFound
		case *c.usedAt != nil:
			replay = true
			return replayEvents, func() {
				s.revokeGrant(tenant, c.grantID, now)
				c.copyOut()
			}, nil
		case !c.usable:
			return nil, nil, ports.ErrNotFound
		}
		if err := s.insertable(issued); err != nil {
			return nil, nil, err
		}
		return events, func() {
			usedAt := ts(now)
			*c.usedAt = &usedAt
			s.insertTokens(issued)
			c.copyOut()
		}, nil
	})
	if err != nil {
		return err
	}
	if replay {
		return errorf(method, ports.ErrAlreadyUsed)
	}
	return nil
}

// RotateRefreshToken consumes the refresh token oldID and stores the
// tokens issued in exchange in one change, and returns the consumed token.
// ErrNotFound if the token is absent, expired at now, revoked, or not a
// refresh token. A token rotated before is a replay: the whole grant is
// revoked and the stored token comes back with ErrAlreadyUsed, even if an
// earlier replay already revoked it.
//
// RFC 6819 §5.2.2.3: a rotated refresh token presented again means two
// parties hold it, and the server cannot tell which is the attacker, so
// every token of the grant goes.
func (s *Store) RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error) {
	var old *ports.Token
	err := s.spend(ctx, "RotateRefreshToken", tenant, now, r.Issued, r.Events, r.ReplayEvents, func() (singleUse, bool) {
		t := s.tokens[key{tenant, oldID}]
		if t == nil || t.Kind != ports.TokenRefresh {
			return singleUse{}, false
		}
		return singleUse{
			usedAt:  &t.UsedAt,
			grantID: t.GrantID,
			usable:  t.RevokedAt == nil && live(t.ExpiresAt, now),
			copyOut: func() { old = copyToken(t) },
		}, true
	})
	return old, err
}

// RevokeToken revokes one token at now. Revoking an absent or revoked
// token is not an error, and a revoked token keeps its first revocation
// time.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) error {
	return s.write(ctx, "RevokeToken", evs, func() ([]ports.Event, func(), error) {
		return evs, func() {
			if t := s.tokens[key{tenant, id}]; t != nil && t.RevokedAt == nil {
				revokedAt := ts(now)
				t.RevokedAt = &revokedAt
			}
		}, nil
	})
}

// RevokeGrant revokes every token of the grant at now.
func (s *Store) RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error {
	return s.write(ctx, "RevokeGrant", evs, func() ([]ports.Event, func(), error) {
		return evs, func() { s.revokeGrant(tenant, grantID, now) }, nil
	})
}

// RevokeClientTokens revokes, at now, every token issued to the client
// that is not revoked yet, and returns how many it revoked.
func (s *Store) RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error) {
	n := 0
	err := s.write(ctx, "RevokeClientTokens", nil, func() ([]ports.Event, func(), error) {
		return nil, func() {
			n = s.revokeTokens(now, func(t *ports.Token) bool { return t.Tenant == tenant && t.ClientID == clientID })
		}, nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SessionClients returns the ids of the clients holding tokens issued in
// the login session, in any state, ordered by id byte by byte. Tokens
// issued outside a login carry no session id, so an empty sessionID names
// no session and yields no clients.
func (s *Store) SessionClients(ctx context.Context, tenant, sessionID string) ([]string, error) {
	var out []string
	err := s.read(ctx, "SessionClients", func() error {
		if sessionID == "" {
			return nil
		}
		for k, t := range s.tokens {
			if k.tenant == tenant && t.SessionID == sessionID {
				out = append(out, t.ClientID)
			}
		}
		slices.Sort(out)
		out = slices.Compact(out)
		return nil
	})
	return out, err
}

// Tokens returns copies of the tenant's tokens in every state, ordered by
// id, for tests that check what a flow issued: no port lists tokens.
func (s *Store) Tokens(tenant string) []*ports.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ports.Token
	for k, t := range s.tokens {
		if k.tenant == tenant {
			out = append(out, copyToken(t))
		}
	}
	sortBy(out, func(t *ports.Token) string { return t.ID })
	return out
}
