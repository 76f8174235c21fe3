package core

import (
	"context"
	"errors"
	"time"

	"oauth2-server.dev/ports"
)

// change is what a store change touched, as far as the engine's caches
// are concerned.
type change struct {
	// client is the client whose registration was replaced or deleted.
	client string
	// user is the user whose password changed or who was deleted.
	user string
	// token is the one token revoked or rotated.
	token string
	// tokens says that tokens were revoked that the change does not name
	// one by one: a grant's, a client's, a user's, a consent's.
	tokens bool
}

// invalidate forgets the cached entries that ch made stale on this
// replica; other replicas see it when their entries expire. The verified
// cache is left alone: no store change undoes a signature, and the record
// it leads to is read through the records cache.
func (c caches) invalidate(ch change) {
	if ch.client != "" {
		c.clients.forget(ch.client)
	}
	if ch.user != "" {
		c.users.forget(ch.user)
	}
	switch {
	case ch.tokens:
		c.records.clear()
	case ch.token != "":
		c.records.forget(ch.token)
	}
}

// invalidatingStore is the store as the engine sees it: every change that
// may make a cached entry stale goes through it and invalidates what it
// touched, so no call site clears a cache. It does so whatever the
// outcome, for an error does not prove that nothing changed (a timeout
// after the commit), and a client or user that turns out absent may still
// be cached; only tokens are left cached when the store says it revoked
// none. Creations invalidate nothing: the caches keep only what was found.
type invalidatingStore struct {
	Store
	caches caches
}

func (s invalidatingStore) UpdateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	defer s.caches.invalidate(change{client: c.ID})
	return s.Store.UpdateClient(ctx, c, evs...)
}

func (s invalidatingStore) DeleteClient(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	defer s.caches.invalidate(change{client: id})
	return s.Store.DeleteClient(ctx, tenant, id, evs...)
}

func (s invalidatingStore) RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error) {
	n, err := s.Store.RevokeClientTokens(ctx, tenant, clientID, now)
	s.caches.invalidate(change{tokens: n > 0 || err != nil})
	return n, err
}

func (s invalidatingStore) SetUserPassword(ctx context.Context, tenant, id, passwordHash, keepSession string, evs ...ports.Event) ([]string, error) {
	defer s.caches.invalidate(change{user: id})
	return s.Store.SetUserPassword(ctx, tenant, id, passwordHash, keepSession, evs...)
}

func (s invalidatingStore) DeleteUser(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) (int, []string, error) {
	n, ended, err := s.Store.DeleteUser(ctx, tenant, id, now, evs...)
	s.caches.invalidate(change{user: id, tokens: !errors.Is(err, ports.ErrNotFound)})
	return n, ended, err
}

func (s invalidatingStore) RevokeConsent(ctx context.Context, tenant, userID, clientID string, now time.Time, evs ...ports.Event) (int, error) {
	n, err := s.Store.RevokeConsent(ctx, tenant, userID, clientID, now, evs...)
	s.caches.invalidate(change{tokens: n > 0 || err != nil})
	return n, err
}

func (s invalidatingStore) RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) error {
	defer s.caches.invalidate(change{token: id})
	return s.Store.RevokeToken(ctx, tenant, id, now, evs...)
}

func (s invalidatingStore) RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error {
	defer s.caches.invalidate(change{tokens: true})
	return s.Store.RevokeGrant(ctx, tenant, grantID, now, evs...)
}

// RotateRefreshToken uses the old token; a replay revokes its grant
// (RFC 9700 §4.14.2).
func (s invalidatingStore) RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error) {
	t, err := s.Store.RotateRefreshToken(ctx, tenant, oldID, now, r)
	s.caches.invalidate(change{token: oldID, tokens: revokedOnReplay(err)})
	return t, err
}

// RedeemAuthCode uses the code; a replay revokes its grant (RFC 6749
// §4.1.2).
func (s invalidatingStore) RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error) {
	c, err := s.Store.RedeemAuthCode(ctx, tenant, hash, now, r)
	s.caches.invalidate(change{tokens: revokedOnReplay(err)})
	return c, err
}

// revokedOnReplay reports whether a redemption or rotation that returned
// err may have revoked a grant: one that found its code or token used
// did, and one that failed otherwise may have.
func revokedOnReplay(err error) bool {
	return err != nil && !errors.Is(err, ports.ErrNotFound)
}
