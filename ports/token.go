package ports

import (
	"context"
	"time"
)

// Token kinds.
const (
	TokenAccess  = "access_token"
	TokenRefresh = "refresh_token"
)

// Token records an issued access or refresh token. ID is the JWT's jti for
// JWT access tokens and the SHA-256 of the token for opaque ones and for
// refresh tokens. Every token belongs to a grant (GrantID): the family that
// one authorization or one client_credentials request created, revoked as a
// whole when a refresh token or a code is replayed.
type Token struct {
	ID        string
	Tenant    string
	Kind      string
	GrantID   string
	ClientID  string
	Subject   string // user id; the client id for client_credentials
	Scope     string
	Audience  string
	SessionID string
	AuthTime  *time.Time
	// ParentID is the refresh token this token was issued from, if any.
	ParentID string
	// JKT binds the token to a DPoP key (RFC 9449 §6): the base64url
	// SHA-256 JWK thumbprint of the key, its cnf.jkt; empty when unbound.
	JKT string
	// X5TS256 binds the token to a client certificate (RFC 8705 §3.1): the
	// base64url SHA-256 of the DER certificate, its cnf.x5t#S256; empty
	// when unbound.
	X5TS256 string
	// AuthorizationDetails are the RFC 9396 authorization details granted
	// with the token, a JSON array; empty when none.
	AuthorizationDetails string
	IssuedAt             time.Time
	ExpiresAt            time.Time
	// UsedAt is set on a refresh token when it has been rotated.
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Active reports whether the token can still be used at now: neither
// revoked, nor expired, nor a refresh token already rotated (RFC 7662
// §2.2: a token that can no longer be used is inactive).
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && t.UsedAt == nil && now.Before(t.ExpiresAt)
}

// Rotation is what RotateRefreshToken stores: the tokens issued in exchange
// and the events of either outcome.
type Rotation struct {
	Issued []*Token
	// Events describe a successful rotation.
	Events []Event
	// ReplayEvents describe the revocation of the grant that a replayed
	// token causes.
	ReplayEvents []Event
}

// TokenStore keeps issued tokens.
type TokenStore interface {
	// CreateTokens stores newly issued tokens in one transaction.
	// ErrConflict if an id exists.
	CreateTokens(ctx context.Context, tokens []*Token, evs ...Event) error
	// GetToken returns a token whatever its state. ErrNotFound if absent.
	GetToken(ctx context.Context, tenant, id string) (*Token, error)
	// RotateRefreshToken consumes the refresh token oldID and stores the
	// tokens r.Issued in exchange, atomically: of any number of concurrent
	// calls for one token exactly one succeeds; r.Events are stored with
	// it. ErrNotFound if the token is absent, expired at now, revoked, or
	// not a refresh token. If it was already rotated, the whole grant is
	// revoked, r.ReplayEvents are stored with the revocation, and
	// ErrAlreadyUsed is returned together with the stored token.
	RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r Rotation) (*Token, error)
	// RevokeToken revokes one token at now. Revoking an absent or revoked
	// token is not an error.
	RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...Event) error
	// RevokeGrant revokes every token of the grant at now.
	RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...Event) error
	// RevokeClientTokens revokes, at now, every token issued to the client
	// that is not revoked yet, and returns how many it revoked.
	RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error)
	// SessionClients returns the ids of the clients holding tokens issued in
	// the login session, in any state, ordered by id (for logout
	// notifications).
	SessionClients(ctx context.Context, tenant, sessionID string) ([]string, error)
}
