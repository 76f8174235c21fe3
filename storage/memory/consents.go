package memory

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// copyConsent is c as the store keeps and returns it.
func copyConsent(c *ports.Consent) *ports.Consent {
	cc := *c
	cc.GrantedAt = ts(c.GrantedAt)
	return &cc
}

// saveConsent creates or replaces c. s.mu is held.
func (s *Store) saveConsent(c *ports.Consent) {
	s.consents[consentKey{c.Tenant, c.UserID, c.ClientID}] = copyConsent(c)
}

// SaveConsent creates or replaces the consent of c.UserID for c.ClientID.
func (s *Store) SaveConsent(ctx context.Context, c *ports.Consent, evs ...ports.Event) error {
	stored := copyConsent(c)
	return s.write(ctx, "SaveConsent", evs, func() ([]ports.Event, func(), error) {
		return evs, func() { s.saveConsent(stored) }, nil
	})
}

// GetConsent returns the consent. ErrNotFound if absent.
func (s *Store) GetConsent(ctx context.Context, tenant, userID, clientID string) (*ports.Consent, error) {
	var out *ports.Consent
	err := s.read(ctx, "GetConsent", func() error {
		c := s.consents[consentKey{tenant, userID, clientID}]
		if c == nil {
			return errorf("GetConsent", ports.ErrNotFound)
		}
		out = copyConsent(c)
		return nil
	})
	return out, err
}

// DeleteConsent removes the consent; an absent consent is not an error.
func (s *Store) DeleteConsent(ctx context.Context, tenant, userID, clientID string, evs ...ports.Event) error {
	return s.write(ctx, "DeleteConsent", evs, func() ([]ports.Event, func(), error) {
		return evs, func() { delete(s.consents, consentKey{tenant, userID, clientID}) }, nil
	})
}

// ListConsents returns the user's consents ordered by client id.
func (s *Store) ListConsents(ctx context.Context, tenant, userID string) ([]*ports.Consent, error) {
	var out []*ports.Consent
	err := s.read(ctx, "ListConsents", func() error {
		for k, c := range s.consents {
			if k.tenant == tenant && k.userID == userID {
				out = append(out, c)
			}
		}
		sortBy(out, func(c *ports.Consent) string { return c.ClientID })
		for i, c := range out {
			out[i] = copyConsent(c)
		}
		return nil
	})
	return out, err
}

// RevokeConsent removes the consent and revokes at now the user's tokens
// of the client that are not revoked yet, in one change, and returns how
// many it revoked. An absent consent is not an error.
func (s *Store) RevokeConsent(ctx context.Context, tenant, userID, clientID string, now time.Time, evs ...ports.Event) (int, error) {
	n := 0
	err := s.write(ctx, "RevokeConsent", evs, func() ([]ports.Event, func(), error) {
		return evs, func() {
			delete(s.consents, consentKey{tenant, userID, clientID})
			n = s.revokeTokens(now, func(t *ports.Token) bool {
				return t.Tenant == tenant && t.ClientID == clientID && t.Subject == userID
			})
		}, nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
