package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"oauth2-server.dev/ports"
)

const tokenColumns = `tenant, id, kind, grant_id, client_id, subject, scope, audience, session_id,
	auth_time, parent_id, issued_at, expires_at, used_at, revoked_at, cnf_jkt, cnf_x5t, authorization_details` // #nosec G101 -- column names, not a credential

var (
	qCreateToken = newQuery(`INSERT INTO tokens (` + tokenColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetToken = newQuery(`SELECT ` + tokenColumns + ` FROM tokens WHERE tenant = ? AND id = ?`)
	// Only one of any number of concurrent rotations can match the row:
	// the others wait for its lock and then find used_at set.
	qConsumeRefreshToken = newQuery(`UPDATE tokens SET used_at = ?
	WHERE tenant = ? AND id = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
	RETURNING ` + tokenColumns)
	// revoked_at IS NULL keeps the time of an earlier revocation.
	qRevokeToken        = newQuery(`UPDATE tokens SET revoked_at = ? WHERE tenant = ? AND id = ? AND revoked_at IS NULL`)
	qRevokeGrant        = newQuery(`UPDATE tokens SET revoked_at = ? WHERE tenant = ? AND grant_id = ? AND revoked_at IS NULL`)
	qRevokeClientTokens = newQuery(`UPDATE tokens SET revoked_at = ? WHERE tenant = ? AND client_id = ? AND revoked_at IS NULL`)
	// SQLite, lacking statistics, would rather walk a tenant's tokens in
	// client order than look the session up: it is told which index to
	// use. PostgreSQL plans from its statistics.
	qSessionClients = query{
		text:     `SELECT DISTINCT client_id FROM tokens INDEXED BY tokens_session_idx WHERE tenant = ? AND session_id = ? AND session_id <> '' ORDER BY client_id`,
		postgres: numberPlaceholders(`SELECT DISTINCT client_id FROM tokens WHERE tenant = ? AND session_id = ? AND session_id <> '' ORDER BY client_id`),
	}
)

func scanToken(row scanner) (*ports.Token, error) {
	var t ports.Token
	err := row.Scan(&t.Tenant, &t.ID, &t.Kind, &t.GrantID, &t.ClientID, &t.Subject, &t.Scope, &t.Audience,
		&t.SessionID, nullTimeCol{&t.AuthTime}, &t.ParentID, timeCol{&t.IssuedAt}, timeCol{&t.ExpiresAt},
		nullTimeCol{&t.UsedAt}, nullTimeCol{&t.RevokedAt}, &t.JKT, &t.X5TS256, &t.AuthorizationDetails)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Store) insertTokens(ctx context.Context, tx *sql.Tx, tokens []*ports.Token) error {
	for _, t := range tokens {
		if _, err := s.txExec(ctx, tx, qCreateToken, s.tokenArgs(t)...); err != nil {
			return err
		}
	}
	return nil
}

// CreateTokens stores newly issued tokens in one transaction. ErrConflict
// if an id exists.
func (s *Store) CreateTokens(ctx context.Context, tokens []*ports.Token, evs ...ports.Event) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("sqlstore: create tokens: %w", err)
	}
	if len(tokens) == 0 && len(evs) == 0 {
		return nil
	}
	return s.insert(ctx, "create tokens", &insertRows{tokens: tokens, events: evs})
}

// GetToken returns a token whatever its state. ErrNotFound if absent.
func (s *Store) GetToken(ctx context.Context, tenant, id string) (*ports.Token, error) {
	t, err := scanToken(s.queryRow(ctx, qGetToken, tenant, id))
	if err != nil {
		return nil, translate("get token", err)
	}
	return t, nil
}

// errNotRotatable ends a rotation of a token that exists but was never
// rotated: it is expired, revoked or not a refresh token.
var errNotRotatable = fmt.Errorf("not rotatable: %w", ports.ErrNotFound)

// spend is the transaction behind RedeemAuthCode and RotateRefreshToken.
// consume marks the credential used at now with a conditional UPDATE: of
// concurrent calls exactly one matches its row, and that one inserts
// issued and stores events. When no row matched, usedBefore reads the
// credential again and returns it with its grant id if it was used before,
// or its own not-found error. A credential used before is a replay: its
// grant is revoked in the same transaction, replayEvents are stored, and
// it comes back with ErrAlreadyUsed.
func spend[T any](s *Store, ctx context.Context, op, tenant string, now time.Time, issued []*ports.Token, events, replayEvents []ports.Event,
	consume func(context.Context, *sql.Tx) (T, error),
	usedBefore func(context.Context, *sql.Tx) (T, string, error),
) (T, error) {
	var (
		spent  T
		zero   T
		replay bool
	)
	if err := checkEvents(slices.Concat(events, replayEvents)); err != nil {
		return zero, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		spent, err = consume(ctx, tx)
		switch {
		case err == nil:
			replay = false
			return events, s.insertTokens(ctx, tx, issued)
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		var grantID string
		spent, grantID, err = usedBefore(ctx, tx)
		if err != nil {
			return nil, err
		}
		replay = true
		_, err = s.txExec(ctx, tx, qRevokeGrant, s.timeArg(now), tenant, grantID)
		return replayEvents, err
	})
	if err != nil {
		return zero, err
	}
	if replay {
		return spent, fmt.Errorf("sqlstore: %s: %w", op, ports.ErrAlreadyUsed)
	}
	return spent, nil
}

// RotateRefreshToken consumes the refresh token oldID and stores the
// tokens issued in exchange in one transaction, and returns the consumed
// token. ErrNotFound if the token is absent, expired at now, revoked, or
// not a refresh token. A token rotated before is a replay: the whole grant
// is revoked and the stored token comes back with ErrAlreadyUsed, even if
// an earlier replay already revoked it.
//
// RFC 6819 §5.2.2.3: a rotated refresh token presented again means two
// parties hold it, and the server cannot tell which is the attacker, so
// every token of the grant goes.
func (s *Store) RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error) {
	old, err := spend(s, ctx, "rotate refresh token", tenant, now, r.Issued, r.Events, r.ReplayEvents,
		func(ctx context.Context, tx *sql.Tx) (*ports.Token, error) {
			return scanToken(s.txQueryRow(ctx, tx, qConsumeRefreshToken,
				s.timeArg(now), tenant, oldID, ports.TokenRefresh, s.timeArg(now)))
		},
		func(ctx context.Context, tx *sql.Tx) (*ports.Token, string, error) {
			old, err := scanToken(s.txQueryRow(ctx, tx, qGetToken, tenant, oldID))
			if err != nil {
				return nil, "", err
			}
			if old.Kind != ports.TokenRefresh || old.UsedAt == nil {
				return nil, "", errNotRotatable
			}
			return old, old.GrantID, nil
		})
	if errors.Is(err, ports.ErrAlreadyUsed) && old.RevokedAt == nil {
		revokedAt := now.UTC().Truncate(time.Microsecond)
		old.RevokedAt = &revokedAt
	}
	return old, err
}

// RevokeToken revokes one token at now. Revoking an absent or revoked
// token is not an error, and a revoked token keeps its first revocation
// time.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) error {
	return s.exec(ctx, "revoke token", evs, qRevokeToken, s.timeArg(now), tenant, id)
}

// RevokeGrant revokes every token of the grant at now.
func (s *Store) RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error {
	return s.exec(ctx, "revoke grant", evs, qRevokeGrant, s.timeArg(now), tenant, grantID)
}

// RevokeClientTokens revokes, at now, every token issued to the client
// that is not revoked yet, and returns how many it revoked. Tokens revoked
// before keep their first revocation time and are not counted.
func (s *Store) RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error) {
	n, err := s.execCount(ctx, "revoke client tokens", qRevokeClientTokens, s.timeArg(now), tenant, clientID)
	return int(n), err
}

// SessionClients returns the ids of the clients holding tokens issued in
// the login session, in any state, ordered by id byte by byte. Tokens
// issued outside a login (client_credentials) carry no session id, so an
// empty sessionID names no session and yields no clients.
func (s *Store) SessionClients(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	rows, err := s.query(ctx, qSessionClients, tenant, sessionID)
	if err != nil {
		return nil, translate("session clients", err)
	}
	ids, err := collect(rows, func(row scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, translate("session clients", err)
	}
	return ids, nil
}
