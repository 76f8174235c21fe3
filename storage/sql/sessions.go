package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

var (
	qCreateSession = newQuery(`INSERT INTO sessions
	(tenant, id, user_id, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
	qGetSession = newQuery(`SELECT tenant, id, user_id, auth_time, created_at, expires_at
	FROM sessions WHERE tenant = ? AND id = ? AND expires_at > ?`)
	qDeleteSession = newQuery(`DELETE FROM sessions WHERE tenant = ? AND id = ?`)
	qCountSessions = newQuery(`SELECT COUNT(*) FROM sessions WHERE tenant = ? AND expires_at > ?`)
)

// CreateSession stores a session. ErrConflict if the id exists.
func (s *Store) CreateSession(ctx context.Context, sess *ports.Session, evs ...ports.Event) error {
	return s.exec(ctx, "create session", evs, qCreateSession,
		sess.Tenant, sess.ID, sess.UserID, s.timeArg(sess.AuthTime), s.timeArg(sess.CreatedAt), s.timeArg(sess.ExpiresAt))
}

// GetSession returns the session. ErrNotFound if absent or expired at now.
func (s *Store) GetSession(ctx context.Context, tenant, id string, now time.Time) (*ports.Session, error) {
	var sess ports.Session
	err := s.queryRow(ctx, qGetSession, tenant, id, s.timeArg(now)).
		Scan(&sess.Tenant, &sess.ID, &sess.UserID, timeCol{&sess.AuthTime}, timeCol{&sess.CreatedAt}, timeCol{&sess.ExpiresAt})
	if err != nil {
		return nil, translate("get session", err)
	}
	return &sess, nil
}

// DeleteSession removes the session; an absent session is not an error.
func (s *Store) DeleteSession(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return s.exec(ctx, "delete session", evs, qDeleteSession, tenant, id)
}

// EndUserSessions removes the user's sessions but keepSession and returns
// their ids.
func (s *Store) EndUserSessions(ctx context.Context, tenant, userID, keepSession string, evs ...ports.Event) ([]string, error) {
	const op = "end user sessions"
	if err := checkEvents(evs); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	var ended []string
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) (_ []ports.Event, err error) {
		ended, err = s.deleteUserSessions(ctx, tx, tenant, userID, keepSession)
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// CountSessions returns how many of the tenant's sessions are live at now.
func (s *Store) CountSessions(ctx context.Context, tenant string, now time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, qCountSessions, tenant, s.timeArg(now)).Scan(&n); err != nil {
		return 0, translate("count sessions", err)
	}
	return n, nil
}
