package ports

import (
	"context"
	"time"
)

// Session is a user's login session at the server. The browser holds its id
// in a signed cookie; the id changes on every login.
type Session struct {
	ID        string
	Tenant    string
	UserID    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionStore keeps login sessions.
type SessionStore interface {
	// CreateSession stores a session. ErrConflict if the id exists.
	CreateSession(ctx context.Context, s *Session, evs ...Event) error
	// GetSession returns the session. ErrNotFound if absent or expired at now.
	GetSession(ctx context.Context, tenant, id string, now time.Time) (*Session, error)
	// DeleteSession removes the session; an absent session is not an error.
	DeleteSession(ctx context.Context, tenant, id string, evs ...Event) error
	// EndUserSessions removes every session of the user but keepSession
	// and returns the ids of the sessions it removed.
	EndUserSessions(ctx context.Context, tenant, userID, keepSession string, evs ...Event) ([]string, error)
	// CountSessions returns how many of the tenant's sessions are live
	// (not expired) at now.
	CountSessions(ctx context.Context, tenant string, now time.Time) (int, error)
}
