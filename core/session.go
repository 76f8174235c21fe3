package core

import (
	"context"
	"errors"
	"strings"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// ErrBadCredentials is returned for a wrong username or password, without
// saying which.
var ErrBadCredentials = errors.New("wrong username or password")

// CheckPassword returns the user whose username and password match.
func (p *Provider) CheckPassword(ctx context.Context, username, password string) (*ports.User, error) {
	username = strings.TrimSpace(username)
	if username == "" || password == "" {
		return nil, ErrBadCredentials
	}
	u, err := p.store.GetUserByUsername(ctx, p.cfg.Tenant, username)
	if errors.Is(err, ports.ErrNotFound) {
		if dummy, err := p.dummyHash(); err == nil {
			_, _ = p.passwords.Verify(dummy, password)
		}
		p.emit(ctx, ports.EventLoginFailed, "", "", map[string]string{"reason": "unknown user"})
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := p.passwords.Verify(u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		p.emit(ctx, ports.EventLoginFailed, u.ID, "", map[string]string{"reason": "wrong password"})
		return nil, ErrBadCredentials
	}
	return u, nil
}

// StartSession creates a fresh session for a user who just authenticated
// and ends previousID, so a session id fixed before login is never reused.
// The login.succeeded event is stored with the new session.
func (p *Provider) StartSession(ctx context.Context, userID, previousID string) (*ports.Session, error) {
	if previousID != "" {
		if err := p.store.DeleteSession(ctx, p.cfg.Tenant, previousID); err != nil {
			return nil, err
		}
	}
	now := p.clock.Now()
	s := &ports.Session{
		ID: secret.Random(24), Tenant: p.cfg.Tenant, UserID: userID,
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(p.cfg.SessionTTL),
	}
	if err := p.store.CreateSession(ctx, s, p.event(ctx, ports.EventLoginSucceeded, userID, "", nil)); err != nil {
		return nil, err
	}
	return s, nil
}

// Session returns the live session with id, or nil when there is none.
func (p *Provider) Session(ctx context.Context, id string) (*ports.Session, error) {
	if id == "" {
		return nil, nil
	}
	s, err := p.store.GetSession(ctx, p.cfg.Tenant, id, p.clock.Now())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, nil
	}
	return s, err
}

// EndOtherSessions ends every session of the person signed in with sess
// but sess itself, and tells the relying parties holding tokens from them
// over the back channel.
func (p *Provider) EndOtherSessions(ctx context.Context, sess *ports.Session) error {
	ended, err := p.store.EndUserSessions(ctx, p.cfg.Tenant, sess.UserID, sess.ID,
		p.event(ctx, ports.EventSessionsEnded, sess.UserID, "", map[string]string{"kept_sid": SessionSID(sess.ID)}))
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	p.sessionsEnded(ctx, sess.UserID, ended)
	return nil
}

// EndSession deletes a session.
func (p *Provider) EndSession(ctx context.Context, id string) error {
	return p.store.DeleteSession(ctx, p.cfg.Tenant, id)
}

// CreateUser stores a new user with an argon2id hash of password.
// ports.ErrConflict if the username is taken.
func (p *Provider) CreateUser(ctx context.Context, u *ports.User, password string) error {
	h, err := p.passwords.Hash(password)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	u.Tenant = p.cfg.Tenant
	if u.ID == "" {
		u.ID = secret.Random(16)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = p.clock.Now()
	}
	return p.store.CreateUser(ctx, u)
}

// User returns a user by id; a protocol error (see userError) wrapping
// ports.ErrNotFound when there is none.
func (p *Provider) User(ctx context.Context, id string) (*ports.User, error) {
	u, err := p.store.GetUser(ctx, p.cfg.Tenant, id)
	if err != nil {
		return nil, userError(err)
	}
	return u, nil
}
