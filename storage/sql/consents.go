package sqlstore

import (
	"context"

	"oauth2-server.dev/ports"
)

var (
	// Both dialects spell an upsert the same way.
	qSaveConsent = newQuery(`INSERT INTO consents (tenant, user_id, client_id, scope, granted_at)
	VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (tenant, user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at`)
	qGetConsent = newQuery(`SELECT tenant, user_id, client_id, scope, granted_at
	FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?`)
	qDeleteConsent = newQuery(`DELETE FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?`)
)

// SaveConsent creates or replaces the consent of c.UserID for c.ClientID.
func (s *Store) SaveConsent(ctx context.Context, c *ports.Consent, evs ...ports.Event) error {
	return s.exec(ctx, "save consent", evs, qSaveConsent, c.Tenant, c.UserID, c.ClientID, c.Scope, s.timeArg(c.GrantedAt))
}

// GetConsent returns the consent. ErrNotFound if absent.
func (s *Store) GetConsent(ctx context.Context, tenant, userID, clientID string) (*ports.Consent, error) {
	var c ports.Consent
	err := s.queryRow(ctx, qGetConsent, tenant, userID, clientID).
		Scan(&c.Tenant, &c.UserID, &c.ClientID, &c.Scope, timeCol{&c.GrantedAt})
	if err != nil {
		return nil, translate("get consent", err)
	}
	return &c, nil
}

// DeleteConsent removes the consent; an absent consent is not an error.
func (s *Store) DeleteConsent(ctx context.Context, tenant, userID, clientID string, evs ...ports.Event) error {
	return s.exec(ctx, "delete consent", evs, qDeleteConsent, tenant, userID, clientID)
}
