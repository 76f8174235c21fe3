package core

import (
	"context"
	"errors"
	"strings"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// sessionSettings are what the session service needs of the
// configuration.
type sessionSettings struct {
	issuer, tenant string
	sessionTTL     time.Duration
}

func (c Config) sessionSettings() sessionSettings {
	return sessionSettings{issuer: c.Issuer, tenant: c.Tenant, sessionTTL: c.SessionTTL}
}

// sessionService signs people in and out: password checks, login
// sessions, RP-initiated logout, and telling the relying parties over the
// front and back channels when a session ends. It keeps the users too,
// since a password change or a deletion ends their sessions.
type sessionService struct {
	settings  sessionSettings
	store     sessionStore
	clock     ports.Clock
	passwords ports.PasswordHasher
	// dummyHash keeps a login for an unknown user as slow as a wrong
	// password, so timing does not reveal which usernames exist.
	dummyHash func() (string, error)
	// keys verify id_token_hint; mint picks the logout token's algorithm.
	keys *keyset.Set
	mint *minter
	// notifier delivers back-channel logout tokens as background work.
	notifier   *notifier
	background *backgroundWork
	*eventSource
}

// sessionStore is what the session service reads and changes: sessions,
// users, and the clients that hold tokens of a session.
type sessionStore interface {
	ports.SessionStore
	ports.UserStore
	GetClient(ctx context.Context, tenant, id string) (*ports.Client, error)
	SessionClients(ctx context.Context, tenant, sessionID string) ([]string, error)
}

// ErrBadCredentials is returned for a wrong username or password, without
// saying which.
var ErrBadCredentials = errors.New("wrong username or password")

// CheckPassword returns the user whose username and password match.
func (s *sessionService) CheckPassword(ctx context.Context, username, password string) (*ports.User, error) {
	username = strings.TrimSpace(username)
	if username == "" || password == "" {
		return nil, ErrBadCredentials
	}
	u, err := s.store.GetUserByUsername(ctx, s.settings.tenant, username)
	if errors.Is(err, ports.ErrNotFound) {
		if dummy, err := s.dummyHash(); err == nil {
			_, _ = s.passwords.Verify(dummy, password)
		}
		s.emit(ctx, ports.EventLoginFailed, "", "", map[string]string{"reason": "unknown user"})
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.passwords.Verify(u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.emit(ctx, ports.EventLoginFailed, u.ID, "", map[string]string{"reason": "wrong password"})
		return nil, ErrBadCredentials
	}
	return u, nil
}

// StartSession creates a fresh session for a user who just authenticated
// and ends previousID, so a session id fixed before login is never reused.
// The login.succeeded event is stored with the new session.
func (s *sessionService) StartSession(ctx context.Context, userID, previousID string) (*ports.Session, error) {
	if previousID != "" {
		if err := s.store.DeleteSession(ctx, s.settings.tenant, previousID); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	sess := &ports.Session{
		ID: secret.Random(24), Tenant: s.settings.tenant, UserID: userID,
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(s.settings.sessionTTL),
	}
	if err := s.store.CreateSession(ctx, sess, s.event(ctx, ports.EventLoginSucceeded, userID, "", nil)); err != nil {
		return nil, err
	}
	return sess, nil
}

// Session returns the live session with id, or nil when there is none.
func (s *sessionService) Session(ctx context.Context, id string) (*ports.Session, error) {
	if id == "" {
		return nil, nil
	}
	sess, err := s.store.GetSession(ctx, s.settings.tenant, id, s.clock.Now())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, nil
	}
	return sess, err
}

// EndOtherSessions ends every session of the person signed in with sess
// but sess itself, and tells the relying parties holding tokens from them
// over the back channel.
func (s *sessionService) EndOtherSessions(ctx context.Context, sess *ports.Session) error {
	ended, err := s.store.EndUserSessions(ctx, s.settings.tenant, sess.UserID, sess.ID,
		s.event(ctx, ports.EventSessionsEnded, sess.UserID, "", map[string]string{"kept_sid": SessionSID(sess.ID)}))
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	s.sessionsEnded(ctx, sess.UserID, ended)
	return nil
}

// EndSession deletes a session.
func (s *sessionService) EndSession(ctx context.Context, id string) error {
	return s.store.DeleteSession(ctx, s.settings.tenant, id)
}

// CreateUser stores a new user with an argon2id hash of password.
// ports.ErrConflict if the username is taken.
func (s *sessionService) CreateUser(ctx context.Context, u *ports.User, password string) error {
	h, err := s.passwords.Hash(password)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	u.Tenant = s.settings.tenant
	if u.ID == "" {
		u.ID = secret.Random(16)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.clock.Now()
	}
	return s.store.CreateUser(ctx, u)
}

// User returns a user by id; a protocol error (see userError) wrapping
// ports.ErrNotFound when there is none.
func (s *sessionService) User(ctx context.Context, id string) (*ports.User, error) {
	u, err := s.store.GetUser(ctx, s.settings.tenant, id)
	if err != nil {
		return nil, userError(err)
	}
	return u, nil
}
