package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

const authCodeColumns = `tenant, hash, grant_id, client_id, user_id, session_id, redirect_uri,
	scope, resources, nonce, code_challenge, code_challenge_method, auth_time, created_at, expires_at, used_at,
	authorization_details, dpop_jkt`

var (
	qCreateAuthCode = newQuery(`INSERT INTO auth_codes (` + authCodeColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	// The conditions of the UPDATE decide the race: however many callers
	// run it at once, the database lets exactly one of them match the row.
	qRedeemAuthCode = newQuery(`UPDATE auth_codes SET used_at = ?
	WHERE tenant = ? AND hash = ? AND used_at IS NULL AND expires_at > ?
	RETURNING ` + authCodeColumns)
	qGetAuthCode = newQuery(`SELECT ` + authCodeColumns + ` FROM auth_codes WHERE tenant = ? AND hash = ?`)
)

// errCodeExpired ends a redemption of a code that exists, unused, but
// expired.
var errCodeExpired = fmt.Errorf("expired: %w", ports.ErrNotFound)

func scanAuthCode(row scanner) (*ports.AuthorizationCode, error) {
	var (
		c         ports.AuthorizationCode
		resources string
	)
	err := row.Scan(&c.Tenant, &c.Hash, &c.GrantID, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI,
		&c.Scope, &resources, &c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod,
		timeCol{&c.AuthTime}, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTimeCol{&c.UsedAt},
		&c.AuthorizationDetails, &c.DPoPJKT)
	if err != nil {
		return nil, err
	}
	if c.Resources, err = decodeList(resources); err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateAuthCode stores a new code. ErrConflict if the hash exists.
func (s *Store) CreateAuthCode(ctx context.Context, c *ports.AuthorizationCode, evs ...ports.Event) error {
	resources, err := encodeList(c.Resources)
	if err != nil {
		return translate("create auth code", err)
	}
	return s.exec(ctx, "create auth code", evs, qCreateAuthCode,
		c.Tenant, c.Hash, c.GrantID, c.ClientID, c.UserID, c.SessionID, c.RedirectURI,
		c.Scope, resources, c.Nonce, c.CodeChallenge, c.CodeChallengeMethod,
		s.timeArg(c.AuthTime), s.timeArg(c.CreatedAt), s.timeArg(c.ExpiresAt), s.nullTimeArg(c.UsedAt),
		c.AuthorizationDetails, c.DPoPJKT)
}

// GetAuthCode returns the code, with UsedAt set if it was redeemed.
// ErrNotFound if absent, or unused and expired at now.
func (s *Store) GetAuthCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.AuthorizationCode, error) {
	code, err := scanAuthCode(s.queryRow(ctx, qGetAuthCode, tenant, hash))
	if err != nil {
		return nil, translate("get auth code", err)
	}
	if code.UsedAt == nil && !now.Before(code.ExpiresAt) {
		return nil, fmt.Errorf("sqlstore: get auth code: expired: %w", ports.ErrNotFound)
	}
	return code, nil
}

// RedeemAuthCode marks the code used at now and inserts the tokens it buys
// in one transaction. The conditional UPDATE decides the race: of
// concurrent calls exactly one matches the row. ErrNotFound if the code is
// absent or expired at now. A code used before revokes its grant in the
// same transaction and comes back with ErrAlreadyUsed, even once expired
// (RFC 6749 §4.1.2); the tokens of the redemption that won were committed
// with it, so the revocation reaches them.
func (s *Store) RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error) {
	return spend(s, ctx, "redeem auth code", tenant, now, r.Issued, r.Events, r.ReplayEvents,
		func(ctx context.Context, tx *sql.Tx) (*ports.AuthorizationCode, error) {
			return scanAuthCode(s.txQueryRow(ctx, tx, qRedeemAuthCode,
				s.timeArg(now), tenant, hash, s.timeArg(now)))
		},
		func(ctx context.Context, tx *sql.Tx) (*ports.AuthorizationCode, string, error) {
			code, err := scanAuthCode(s.txQueryRow(ctx, tx, qGetAuthCode, tenant, hash))
			if err != nil {
				return nil, "", err
			}
			if code.UsedAt == nil {
				return nil, "", errCodeExpired
			}
			return code, code.GrantID, nil
		})
}
