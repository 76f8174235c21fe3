package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

const userColumns = `tenant, id, username, password_hash, name, given_name, family_name,
	email, email_verified, created_at`

var (
	qCreateUser = newQuery(`INSERT INTO users (` + userColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetUser            = newQuery(`SELECT ` + userColumns + ` FROM users WHERE tenant = ? AND id = ?`)
	qGetUserByUsername  = newQuery(`SELECT ` + userColumns + ` FROM users WHERE tenant = ? AND username = ?`)
	qListUsers          = newQuery(`SELECT ` + userColumns + ` FROM users WHERE tenant = ? AND username > ? ORDER BY username LIMIT ?`)
	qSetUserPassword    = newQuery(`UPDATE users SET password_hash = ? WHERE tenant = ? AND id = ?`)
	qDeleteUser         = newQuery(`DELETE FROM users WHERE tenant = ? AND id = ?`)
	qDeleteUserConsents = newQuery(`DELETE FROM consents WHERE tenant = ? AND user_id = ?`)
	qDeleteUserSessions = newQuery(`DELETE FROM sessions WHERE tenant = ? AND user_id = ? AND id <> ? RETURNING id`)
	qRevokeUserTokens   = newQuery(`UPDATE tokens SET revoked_at = ? WHERE tenant = ? AND subject = ? AND revoked_at IS NULL`)
)

func scanUser(row scanner) (*ports.User, error) {
	var u ports.User
	err := row.Scan(&u.Tenant, &u.ID, &u.Username, &u.PasswordHash, &u.Name, &u.GivenName,
		&u.FamilyName, &u.Email, &u.EmailVerified, timeCol{&u.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser stores a new user. ErrConflict if the id or the username is
// taken in the tenant.
func (s *Store) CreateUser(ctx context.Context, u *ports.User) error {
	return s.exec(ctx, "create user", nil, qCreateUser,
		u.Tenant, u.ID, u.Username, u.PasswordHash, u.Name, u.GivenName, u.FamilyName,
		u.Email, u.EmailVerified, s.timeArg(u.CreatedAt))
}

// GetUser returns the user by id. ErrNotFound if absent.
func (s *Store) GetUser(ctx context.Context, tenant, id string) (*ports.User, error) {
	u, err := scanUser(s.queryRow(ctx, qGetUser, tenant, id))
	if err != nil {
		return nil, translate("get user", err)
	}
	return u, nil
}

// GetUserByUsername returns the user by username. ErrNotFound if absent.
func (s *Store) GetUserByUsername(ctx context.Context, tenant, username string) (*ports.User, error) {
	u, err := scanUser(s.queryRow(ctx, qGetUserByUsername, tenant, username))
	if err != nil {
		return nil, translate("get user by username", err)
	}
	return u, nil
}

// ListUsers returns the tenant's users ordered by username, byte by byte,
// the part of them page selects.
func (s *Store) ListUsers(ctx context.Context, tenant string, page ports.Page) ([]*ports.User, error) {
	rows, err := s.query(ctx, qListUsers, tenant, page.After, limitArg(page))
	if err != nil {
		return nil, translate("list users", err)
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, translate("list users", err)
	}
	return out, nil
}

// SetUserPassword replaces the user's password hash and ends the user's
// sessions but keepSession in one transaction, returning the ended
// sessions' ids. ErrNotFound if the user is absent.
func (s *Store) SetUserPassword(ctx context.Context, tenant, id, passwordHash, keepSession string, evs ...ports.Event) ([]string, error) {
	const op = "set user password"
	if err := checkEvents(evs); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	var ended []string
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) (_ []ports.Event, err error) {
		if err := oneRow(s.txExec(ctx, tx, qSetUserPassword, passwordHash, tenant, id)); err != nil {
			return nil, err
		}
		ended, err = s.deleteUserSessions(ctx, tx, tenant, id, keepSession)
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// deleteUserSessions deletes the user's sessions but keep and returns
// their ids.
func (s *Store) deleteUserSessions(ctx context.Context, tx *sql.Tx, tenant, userID, keep string) ([]string, error) {
	rows, err := s.txQuery(ctx, tx, qDeleteUserSessions, tenant, userID, keep)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (id string, err error) { return id, row.Scan(&id) })
}

// DeleteUser removes the user, the user's consents and sessions, and
// revokes the user's tokens in one transaction. ErrNotFound if the user is
// absent.
func (s *Store) DeleteUser(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) (int, []string, error) {
	const op = "delete user"
	if err := checkEvents(evs); err != nil {
		return 0, nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	var (
		n     int64
		ended []string
	)
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		res, err := s.txExec(ctx, tx, qDeleteUser, tenant, id)
		if err != nil {
			return nil, err
		}
		if gone, err := res.RowsAffected(); err != nil || gone == 0 {
			return nil, cmp.Or(err, ports.ErrNotFound)
		}
		if _, err := s.txExec(ctx, tx, qDeleteUserConsents, tenant, id); err != nil {
			return nil, err
		}
		if ended, err = s.deleteUserSessions(ctx, tx, tenant, id, ""); err != nil {
			return nil, err
		}
		res, err = s.txExec(ctx, tx, qRevokeUserTokens, s.timeArg(now), tenant, id)
		if err != nil {
			return nil, err
		}
		n, err = res.RowsAffected()
		return evs, err
	})
	if err != nil {
		return 0, nil, err
	}
	return int(n), ended, nil
}
