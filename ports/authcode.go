package ports

import (
	"context"
	"time"
)

// AuthorizationCode is an issued authorization code. Hash is the SHA-256 of
// the code as handed to the client; the code itself is never stored.
// GrantID names the token family the code's redemption creates, so that a
// replayed code can revoke what it issued.
type AuthorizationCode struct {
	Hash        string
	Tenant      string
	GrantID     string
	ClientID    string
	UserID      string
	SessionID   string
	RedirectURI string
	Scope       string
	// Resources are the RFC 8707 resource indicators of the authorization
	// request, in request order; the tokens the code buys are restricted
	// to them.
	Resources []string
	Nonce     string
	// AuthorizationDetails are the RFC 9396 authorization details the
	// user approved, a JSON array; empty when none.
	AuthorizationDetails string
	// DPoPJKT is the dpop_jkt of the authorization request (RFC 9449 §10):
	// the code may only be redeemed with a proof of that key.
	DPoPJKT             string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              *time.Time
}

// AuthCodeStore keeps authorization codes.
type AuthCodeStore interface {
	// CreateAuthCode stores a new code. ErrConflict if the hash exists.
	CreateAuthCode(ctx context.Context, c *AuthorizationCode, evs ...Event) error
	// RedeemAuthCode marks the code used at now, atomically: of any number of
	// concurrent calls for one code exactly one succeeds. It returns the
	// code on success. ErrNotFound if absent or expired at now. If the code
	// was used before it returns the stored code (with UsedAt set) together
	// with ErrAlreadyUsed, so that the caller can revoke its grant. evs are
	// stored only with a successful redemption.
	RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, evs ...Event) (*AuthorizationCode, error)
}
