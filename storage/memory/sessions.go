package memory

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// copySession is sess as the store keeps and returns it.
func copySession(sess *ports.Session) *ports.Session {
	c := *sess
	c.AuthTime, c.CreatedAt, c.ExpiresAt = ts(sess.AuthTime), ts(sess.CreatedAt), ts(sess.ExpiresAt)
	return &c
}

// CreateSession stores a session. ErrConflict if the id exists.
func (s *Store) CreateSession(ctx context.Context, sess *ports.Session, evs ...ports.Event) error {
	return s.write(ctx, "CreateSession", evs, func() ([]ports.Event, func(), error) {
		k := key{sess.Tenant, sess.ID}
		if s.sessions[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		stored := copySession(sess)
		return evs, func() { s.sessions[k] = stored }, nil
	})
}

// GetSession returns the session. ErrNotFound if absent or expired at now.
func (s *Store) GetSession(ctx context.Context, tenant, id string, now time.Time) (*ports.Session, error) {
	var out *ports.Session
	err := s.read(ctx, "GetSession", func() error {
		sess := s.sessions[key{tenant, id}]
		if sess == nil || !live(sess.ExpiresAt, now) {
			return errorf("GetSession", ports.ErrNotFound)
		}
		out = copySession(sess)
		return nil
	})
	return out, err
}

// DeleteSession removes the session; an absent session is not an error.
func (s *Store) DeleteSession(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return s.write(ctx, "DeleteSession", evs, func() ([]ports.Event, func(), error) {
		return evs, func() { delete(s.sessions, key{tenant, id}) }, nil
	})
}

// EndUserSessions removes the user's sessions but keepSession and returns
// their ids.
func (s *Store) EndUserSessions(ctx context.Context, tenant, userID, keepSession string, evs ...ports.Event) ([]string, error) {
	var ended []string
	err := s.write(ctx, "EndUserSessions", evs, func() ([]ports.Event, func(), error) {
		return evs, func() { ended = s.endSessions(tenant, userID, keepSession) }, nil
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// CountSessions returns how many of the tenant's sessions are live at now.
func (s *Store) CountSessions(ctx context.Context, tenant string, now time.Time) (int, error) {
	n := 0
	err := s.read(ctx, "CountSessions", func() error {
		for k, sess := range s.sessions {
			if k.tenant == tenant && live(sess.ExpiresAt, now) {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
