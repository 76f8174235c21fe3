package ports

import (
	"context"
	"time"
)

// User is a person who logs in. PasswordHash is an argon2id PHC string.
type User struct {
	ID            string
	Tenant        string
	Username      string
	PasswordHash  string
	Name          string
	GivenName     string
	FamilyName    string
	Email         string
	EmailVerified bool
	CreatedAt     time.Time
}

// UserStore keeps users.
type UserStore interface {
	// CreateUser stores a new user. ErrConflict if the id or the username is
	// taken in the tenant.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user by id. ErrNotFound if absent.
	GetUser(ctx context.Context, tenant, id string) (*User, error)
	// GetUserByUsername returns the user by username. ErrNotFound if absent.
	GetUserByUsername(ctx context.Context, tenant, username string) (*User, error)
	// ListUsers returns the tenant's users ordered by username, the part of
	// them page selects by username.
	ListUsers(ctx context.Context, tenant string, page Page) ([]*User, error)
	// SetUserPassword replaces the user's password hash and ends every
	// session of the user but keepSession ("" keeps none), in one change.
	// It returns the ids of the sessions it ended. ErrNotFound if the user
	// is absent.
	SetUserPassword(ctx context.Context, tenant, id, passwordHash, keepSession string, evs ...Event) ([]string, error)
	// DeleteUser removes the user with the user's consents and sessions,
	// and revokes, at now, every token issued for the user (its Subject)
	// that is not revoked yet, in one change. It returns how many tokens it
	// revoked and the ids of the sessions it ended. ErrNotFound if the user
	// is absent.
	DeleteUser(ctx context.Context, tenant, id string, now time.Time, evs ...Event) (int, []string, error)
}

// PasswordHasher hashes and verifies user passwords.
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded, in constant time.
	Verify(encoded, password string) (bool, error)
}
