package sqlstore

import (
	"context"

	"oauth2-server.dev/ports"
)

const userColumns = `tenant, id, username, password_hash, name, given_name, family_name,
	email, email_verified, created_at`

var (
	qCreateUser = newQuery(`INSERT INTO users (` + userColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetUser           = newQuery(`SELECT ` + userColumns + ` FROM users WHERE tenant = ? AND id = ?`)
	qGetUserByUsername = newQuery(`SELECT ` + userColumns + ` FROM users WHERE tenant = ? AND username = ?`)
	qListUsers         = newQuery(`SELECT ` + userColumns + ` FROM users WHERE tenant = ? ORDER BY username`)
	qSetUserPassword   = newQuery(`UPDATE users SET password_hash = ? WHERE tenant = ? AND id = ?`)
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

// ListUsers returns the tenant's users ordered by username, byte by byte.
func (s *Store) ListUsers(ctx context.Context, tenant string) ([]*ports.User, error) {
	rows, err := s.query(ctx, qListUsers, tenant)
	if err != nil {
		return nil, translate("list users", err)
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, translate("list users", err)
	}
	return out, nil
}

// SetUserPassword replaces the user's password hash. ErrNotFound if the
// user is absent.
func (s *Store) SetUserPassword(ctx context.Context, tenant, id, passwordHash string) error {
	return s.execOne(ctx, "set user password", nil, qSetUserPassword, passwordHash, tenant, id)
}
