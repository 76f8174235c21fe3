package memory

import (
	"context"
	"slices"
	"time"

	"oauth2-server.dev/ports"
)

// copyUser is u as the store keeps and returns it.
func copyUser(u *ports.User) *ports.User {
	uu := *u
	uu.CreatedAt = ts(u.CreatedAt)
	return &uu
}

// CreateUser stores a new user. ErrConflict if the id or the username is
// taken in the tenant.
func (s *Store) CreateUser(ctx context.Context, u *ports.User) error {
	return s.write(ctx, "CreateUser", nil, func() ([]ports.Event, func(), error) {
		k, name := key{u.Tenant, u.ID}, key{u.Tenant, u.Username}
		if s.users[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		if _, taken := s.usernames[name]; taken {
			return nil, nil, ports.ErrConflict
		}
		stored := copyUser(u)
		return nil, func() {
			s.users[k] = stored
			s.usernames[name] = u.ID
		}, nil
	})
}

// GetUser returns the user by id. ErrNotFound if absent.
func (s *Store) GetUser(ctx context.Context, tenant, id string) (*ports.User, error) {
	var out *ports.User
	err := s.read(ctx, "GetUser", func() error {
		u := s.users[key{tenant, id}]
		if u == nil {
			return errorf("GetUser", ports.ErrNotFound)
		}
		out = copyUser(u)
		return nil
	})
	return out, err
}

// GetUserByUsername returns the user by username. ErrNotFound if absent.
func (s *Store) GetUserByUsername(ctx context.Context, tenant, username string) (*ports.User, error) {
	var out *ports.User
	err := s.read(ctx, "GetUserByUsername", func() error {
		id, ok := s.usernames[key{tenant, username}]
		if !ok {
			return errorf("GetUserByUsername", ports.ErrNotFound)
		}
		out = copyUser(s.users[key{tenant, id}])
		return nil
	})
	return out, err
}

// ListUsers returns the tenant's users ordered by username, byte by byte,
// the part of them page selects.
func (s *Store) ListUsers(ctx context.Context, tenant string, p ports.Page) ([]*ports.User, error) {
	var out []*ports.User
	err := s.read(ctx, "ListUsers", func() error {
		for k, u := range s.users {
			if k.tenant == tenant {
				out = append(out, u)
			}
		}
		out = sortedPage(out, func(u *ports.User) string { return u.Username }, p)
		for i, u := range out {
			out[i] = copyUser(u)
		}
		return nil
	})
	return out, err
}

// SetUserPassword replaces the user's password hash and ends the user's
// sessions but keepSession in one change, returning the ended sessions'
// ids. ErrNotFound if the user is absent.
func (s *Store) SetUserPassword(ctx context.Context, tenant, id, passwordHash, keepSession string, evs ...ports.Event) ([]string, error) {
	var ended []string
	err := s.write(ctx, "SetUserPassword", evs, func() ([]ports.Event, func(), error) {
		u := s.users[key{tenant, id}]
		if u == nil {
			return nil, nil, ports.ErrNotFound
		}
		return evs, func() {
			u.PasswordHash = passwordHash
			ended = s.endSessions(tenant, id, keepSession)
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// DeleteUser removes the user, the user's consents and sessions, and
// revokes at now the user's tokens that are not revoked yet, in one
// change. ErrNotFound if the user is absent.
func (s *Store) DeleteUser(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) (int, []string, error) {
	var (
		revoked int
		ended   []string
	)
	err := s.write(ctx, "DeleteUser", evs, func() ([]ports.Event, func(), error) {
		u := s.users[key{tenant, id}]
		if u == nil {
			return nil, nil, ports.ErrNotFound
		}
		return evs, func() {
			delete(s.users, key{tenant, id})
			delete(s.usernames, key{tenant, u.Username})
			for k := range s.consents {
				if k.tenant == tenant && k.userID == id {
					delete(s.consents, k)
				}
			}
			ended = s.endSessions(tenant, id, "")
			revoked = s.revokeTokens(now, func(t *ports.Token) bool { return t.Tenant == tenant && t.Subject == id })
		}, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return revoked, ended, nil
}

// endSessions deletes the user's sessions but keep, whether or not they
// expired, and returns their ids in order. s.mu is held.
func (s *Store) endSessions(tenant, userID, keep string) []string {
	var ended []string
	for k, sess := range s.sessions {
		if k.tenant == tenant && sess.UserID == userID && k.id != keep {
			delete(s.sessions, k)
			ended = append(ended, k.id)
		}
	}
	slices.Sort(ended)
	return ended
}
