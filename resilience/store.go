package resilience

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// WrapStore returns a Store that runs every call to s through b, each with
// its own deadline of timeout (none when timeout <= 0). While b is open every
// method that takes a context returns an error matching ErrUnavailable
// without touching s, so a dead database costs a request microseconds
// instead of a timeout. That includes the outbox a relay claims from, which
// lives in the same database and fails with it. Close and the EventStore
// settings (OnEvents, DiscardEvents, LeaseOnAppend) reach no database and
// go straight to s.
//
// The ports sentinels (ErrNotFound, ErrConflict, ErrAlreadyUsed) are answers
// and pass through unchanged, together with any record the method returns
// beside them (RedeemAuthCode's used code, RotateRefreshToken's token).
//
// Ping goes through the breaker too: a readiness probe then reports an open
// breaker as not ready at once, and because probes keep coming while the
// load balancer sends no traffic, Ping is also what lets a half-open breaker
// close again once the database is back.
func WrapStore(s ports.Store, b *Breaker, timeout time.Duration) ports.Store {
	return &storeWrapper{s: s, b: b, timeout: timeout}
}

var _ ports.Store = (*storeWrapper)(nil)

type storeWrapper struct {
	s       ports.Store
	b       *Breaker
	timeout time.Duration
}

// call runs fn through the breaker and keeps its result even when it comes
// with an error, since some port methods return both.
func call[T any](ctx context.Context, b *Breaker, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	var out T
	err := b.Do(ctx, timeout, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

func (w *storeWrapper) do(ctx context.Context, fn func(context.Context) error) error {
	return w.b.Do(ctx, w.timeout, fn)
}

// Close bypasses the breaker: it releases local resources, and refusing it
// while the database is down would leak them at shutdown.
func (w *storeWrapper) Close() error { return w.s.Close() }

func (w *storeWrapper) Ping(ctx context.Context) error {
	return w.do(ctx, w.s.Ping)
}

// ClientStore

func (w *storeWrapper) CreateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateClient(ctx, c, evs...) })
}

func (w *storeWrapper) GetClient(ctx context.Context, tenant, id string) (*ports.Client, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.Client, error) {
		return w.s.GetClient(ctx, tenant, id)
	})
}

func (w *storeWrapper) UpdateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.UpdateClient(ctx, c, evs...) })
}

func (w *storeWrapper) DeleteClient(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.DeleteClient(ctx, tenant, id, evs...) })
}

func (w *storeWrapper) ListClients(ctx context.Context, tenant string, page ports.Page) ([]*ports.Client, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]*ports.Client, error) {
		return w.s.ListClients(ctx, tenant, page)
	})
}

// UserStore

func (w *storeWrapper) CreateUser(ctx context.Context, u *ports.User) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateUser(ctx, u) })
}

func (w *storeWrapper) GetUser(ctx context.Context, tenant, id string) (*ports.User, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.User, error) {
		return w.s.GetUser(ctx, tenant, id)
	})
}

func (w *storeWrapper) GetUserByUsername(ctx context.Context, tenant, username string) (*ports.User, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.User, error) {
		return w.s.GetUserByUsername(ctx, tenant, username)
	})
}

func (w *storeWrapper) ListUsers(ctx context.Context, tenant string, page ports.Page) ([]*ports.User, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]*ports.User, error) {
		return w.s.ListUsers(ctx, tenant, page)
	})
}

func (w *storeWrapper) EndUserSessions(ctx context.Context, tenant, userID, keepSession string, evs ...ports.Event) ([]string, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]string, error) {
		return w.s.EndUserSessions(ctx, tenant, userID, keepSession, evs...)
	})
}

func (w *storeWrapper) SetUserPassword(ctx context.Context, tenant, id, passwordHash, keepSession string, evs ...ports.Event) ([]string, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]string, error) {
		return w.s.SetUserPassword(ctx, tenant, id, passwordHash, keepSession, evs...)
	})
}

func (w *storeWrapper) DeleteUser(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) (int, []string, error) {
	type deletion struct {
		revoked int
		ended   []string
	}
	d, err := call(ctx, w.b, w.timeout, func(ctx context.Context) (deletion, error) {
		n, ended, err := w.s.DeleteUser(ctx, tenant, id, now, evs...)
		return deletion{n, ended}, err
	})
	return d.revoked, d.ended, err
}

// AuthRequestStore

func (w *storeWrapper) CreateAuthRequest(ctx context.Context, r *ports.AuthRequest) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateAuthRequest(ctx, r) })
}

func (w *storeWrapper) GetAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.AuthRequest, error) {
		return w.s.GetAuthRequest(ctx, tenant, id, now)
	})
}

func (w *storeWrapper) ConsumeAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.AuthRequest, error) {
		return w.s.ConsumeAuthRequest(ctx, tenant, id, now)
	})
}

func (w *storeWrapper) DeleteAuthRequest(ctx context.Context, tenant, id string) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.DeleteAuthRequest(ctx, tenant, id) })
}

// AuthCodeStore

func (w *storeWrapper) CreateAuthCode(ctx context.Context, c *ports.AuthorizationCode, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateAuthCode(ctx, c, evs...) })
}

func (w *storeWrapper) GetAuthCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.AuthorizationCode, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.AuthorizationCode, error) {
		return w.s.GetAuthCode(ctx, tenant, hash, now)
	})
}

func (w *storeWrapper) RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.AuthorizationCode, error) {
		return w.s.RedeemAuthCode(ctx, tenant, hash, now, r)
	})
}

// TokenStore

func (w *storeWrapper) CreateTokens(ctx context.Context, tokens []*ports.Token, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateTokens(ctx, tokens, evs...) })
}

func (w *storeWrapper) GetToken(ctx context.Context, tenant, id string) (*ports.Token, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.Token, error) {
		return w.s.GetToken(ctx, tenant, id)
	})
}

func (w *storeWrapper) RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.Token, error) {
		return w.s.RotateRefreshToken(ctx, tenant, oldID, now, r)
	})
}

func (w *storeWrapper) RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.RevokeToken(ctx, tenant, id, now, evs...) })
}

func (w *storeWrapper) RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.RevokeGrant(ctx, tenant, grantID, now, evs...) })
}

func (w *storeWrapper) RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (int, error) {
		return w.s.RevokeClientTokens(ctx, tenant, clientID, now)
	})
}

func (w *storeWrapper) SessionClients(ctx context.Context, tenant, sessionID string) ([]string, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]string, error) {
		return w.s.SessionClients(ctx, tenant, sessionID)
	})
}

// SessionStore

func (w *storeWrapper) CreateSession(ctx context.Context, s *ports.Session, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateSession(ctx, s, evs...) })
}

func (w *storeWrapper) GetSession(ctx context.Context, tenant, id string, now time.Time) (*ports.Session, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.Session, error) {
		return w.s.GetSession(ctx, tenant, id, now)
	})
}

func (w *storeWrapper) CountSessions(ctx context.Context, tenant string, now time.Time) (int, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (int, error) {
		return w.s.CountSessions(ctx, tenant, now)
	})
}

func (w *storeWrapper) DeleteSession(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.DeleteSession(ctx, tenant, id, evs...) })
}

// ConsentStore

func (w *storeWrapper) SaveConsent(ctx context.Context, c *ports.Consent, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.SaveConsent(ctx, c, evs...) })
}

func (w *storeWrapper) GetConsent(ctx context.Context, tenant, userID, clientID string) (*ports.Consent, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.Consent, error) {
		return w.s.GetConsent(ctx, tenant, userID, clientID)
	})
}

func (w *storeWrapper) DeleteConsent(ctx context.Context, tenant, userID, clientID string, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.DeleteConsent(ctx, tenant, userID, clientID, evs...) })
}

func (w *storeWrapper) ListConsents(ctx context.Context, tenant, userID string) ([]*ports.Consent, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]*ports.Consent, error) {
		return w.s.ListConsents(ctx, tenant, userID)
	})
}

func (w *storeWrapper) RevokeConsent(ctx context.Context, tenant, userID, clientID string, now time.Time, evs ...ports.Event) (int, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (int, error) {
		return w.s.RevokeConsent(ctx, tenant, userID, clientID, now, evs...)
	})
}

// KeyStore

func (w *storeWrapper) CreateKey(ctx context.Context, k *ports.SigningKey, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateKey(ctx, k, evs...) })
}

func (w *storeWrapper) UpdateKey(ctx context.Context, k *ports.SigningKey) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.UpdateKey(ctx, k) })
}

func (w *storeWrapper) ListKeys(ctx context.Context, tenant string) ([]*ports.SigningKey, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]*ports.SigningKey, error) {
		return w.s.ListKeys(ctx, tenant)
	})
}

// JTIStore

func (w *storeWrapper) UseJTI(ctx context.Context, tenant, key string, expiresAt, now time.Time) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.UseJTI(ctx, tenant, key, expiresAt, now) })
}

// DeviceCodeStore

func (w *storeWrapper) CreateDeviceCode(ctx context.Context, d *ports.DeviceCode) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateDeviceCode(ctx, d) })
}

func (w *storeWrapper) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.DeviceCode, error) {
		return w.s.GetDeviceCodeByUserCode(ctx, tenant, userCode, now)
	})
}

func (w *storeWrapper) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error {
		return w.s.DecideDeviceCode(ctx, tenant, userCode, status, userID, sessionID, authTime, now, consent, evs...)
	})
}

func (w *storeWrapper) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.DeviceCode, error) {
		return w.s.PollDeviceCode(ctx, tenant, hash, now)
	})
}

func (w *storeWrapper) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.DeviceCode, error) {
		return w.s.RedeemDeviceCode(ctx, tenant, hash, now)
	})
}

// CIBAStore

func (w *storeWrapper) CreateCIBARequest(ctx context.Context, r *ports.CIBARequest, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.CreateCIBARequest(ctx, r, evs...) })
}

func (w *storeWrapper) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.CIBARequest, error) {
		return w.s.GetCIBARequestByDecision(ctx, tenant, decisionHash, now)
	})
}

func (w *storeWrapper) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error {
		return w.s.DecideCIBARequest(ctx, tenant, decisionHash, status, sessionID, authTime, now, consent, evs...)
	})
}

func (w *storeWrapper) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.CIBARequest, error) {
		return w.s.PollCIBARequest(ctx, tenant, hash, now)
	})
}

func (w *storeWrapper) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (*ports.CIBARequest, error) {
		return w.s.RedeemCIBARequest(ctx, tenant, hash, now)
	})
}

// Purger

func (w *storeWrapper) PurgeExpired(ctx context.Context, kind string, before time.Time, limit int) (int, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) (int, error) {
		return w.s.PurgeExpired(ctx, kind, before, limit)
	})
}

// EventStore. The outbox's calls reach the database, so they go through
// the breaker as every other call does: a relay claiming from a store that
// is down fails at once, together with the requests.

func (w *storeWrapper) AppendEvents(ctx context.Context, events ...ports.Event) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.AppendEvents(ctx, events...) })
}

func (w *storeWrapper) ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]ports.Event, error) {
	return call(ctx, w.b, w.timeout, func(ctx context.Context) ([]ports.Event, error) {
		return w.s.ClaimEvents(ctx, limit, lease, now)
	})
}

func (w *storeWrapper) AckEvents(ctx context.Context, ids []string) error {
	return w.do(ctx, func(ctx context.Context) error { return w.s.AckEvents(ctx, ids) })
}

// OnEvents, DiscardEvents and LeaseOnAppend bypass the breaker: they
// tune the wrapped store and reach no database, so they take effect even
// while the breaker is open, as Close does.

func (w *storeWrapper) OnEvents(f func([]ports.Event)) { w.s.OnEvents(f) }

func (w *storeWrapper) DiscardEvents() { w.s.DiscardEvents() }

func (w *storeWrapper) LeaseOnAppend(lease time.Duration) { w.s.LeaseOnAppend(lease) }
