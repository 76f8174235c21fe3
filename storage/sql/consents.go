package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

var (
	// Both dialects spell an upsert the same way.
	qSaveConsent = newQuery(`INSERT INTO consents (tenant, user_id, client_id, scope, granted_at)
	VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (tenant, user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at`)
	qGetConsent = newQuery(`SELECT tenant, user_id, client_id, scope, granted_at
	FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?`)
	qListConsents = newQuery(`SELECT tenant, user_id, client_id, scope, granted_at
	FROM consents WHERE tenant = ? AND user_id = ? ORDER BY client_id`)
	qDeleteConsent = newQuery(`DELETE FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?`)
	// The client index finds the client's tokens; the subject narrows them.
	qRevokeUserClientTokens = newQuery(`UPDATE tokens SET revoked_at = ?
	WHERE tenant = ? AND client_id = ? AND subject = ? AND revoked_at IS NULL`)
)

func scanConsent(row scanner) (*ports.Consent, error) {
	var c ports.Consent
	if err := row.Scan(&c.Tenant, &c.UserID, &c.ClientID, &c.Scope, timeCol{&c.GrantedAt}); err != nil {
		return nil, err
	}
	return &c, nil
}

// SaveConsent creates or replaces the consent of c.UserID for c.ClientID.
func (s *Store) SaveConsent(ctx context.Context, c *ports.Consent, evs ...ports.Event) error {
	return s.exec(ctx, "save consent", evs, qSaveConsent, s.consentArgs(c)...)
}

func (s *Store) consentArgs(c *ports.Consent) []any {
	return []any{c.Tenant, c.UserID, c.ClientID, c.Scope, s.timeArg(c.GrantedAt)}
}

// decide runs the conditional update q of a device or CIBA decision and,
// when it matched a row and consent is not nil, saves consent in the same
// transaction, so that a consent is kept only with the approval it came
// with. ErrNotFound when q matched no row.
func (s *Store) decide(ctx context.Context, op string, consent *ports.Consent, evs []ports.Event, q query, args ...any) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		if err := oneRow(s.txExec(ctx, tx, q, args...)); err != nil {
			return nil, err
		}
		if consent != nil {
			if _, err := s.txExec(ctx, tx, qSaveConsent, s.consentArgs(consent)...); err != nil {
				return nil, err
			}
		}
		return evs, nil
	})
}

// GetConsent returns the consent. ErrNotFound if absent.
func (s *Store) GetConsent(ctx context.Context, tenant, userID, clientID string) (*ports.Consent, error) {
	c, err := scanConsent(s.queryRow(ctx, qGetConsent, tenant, userID, clientID))
	if err != nil {
		return nil, translate("get consent", err)
	}
	return c, nil
}

// ListConsents returns the user's consents ordered by client id.
func (s *Store) ListConsents(ctx context.Context, tenant, userID string) ([]*ports.Consent, error) {
	rows, err := s.query(ctx, qListConsents, tenant, userID)
	if err != nil {
		return nil, translate("list consents", err)
	}
	out, err := collect(rows, scanConsent)
	if err != nil {
		return nil, translate("list consents", err)
	}
	return out, nil
}

// DeleteConsent removes the consent; an absent consent is not an error.
func (s *Store) DeleteConsent(ctx context.Context, tenant, userID, clientID string, evs ...ports.Event) error {
	return s.exec(ctx, "delete consent", evs, qDeleteConsent, tenant, userID, clientID)
}

// RevokeConsent removes the consent and revokes the user's tokens of the
// client in one transaction.
func (s *Store) RevokeConsent(ctx context.Context, tenant, userID, clientID string, now time.Time, evs ...ports.Event) (int, error) {
	const op = "revoke consent"
	if err := checkEvents(evs); err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	var n int64
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		if _, err := s.txExec(ctx, tx, qDeleteConsent, tenant, userID, clientID); err != nil {
			return nil, err
		}
		res, err := s.txExec(ctx, tx, qRevokeUserClientTokens, s.timeArg(now), tenant, clientID, userID)
		if err != nil {
			return nil, err
		}
		n, err = res.RowsAffected()
		return evs, err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
