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

// Redemption is what RedeemAuthCode stores: the tokens the code buys and
// the events of either outcome.
type Redemption struct {
	Issued []*Token
	// Events describe a successful redemption.
	Events []Event
	// ReplayEvents describe the revocation of the grant that a code used
	// again causes.
	ReplayEvents []Event
}

// AuthCodeStore keeps authorization codes.
type AuthCodeStore interface {
	// CreateAuthCode stores a new code. ErrConflict if the hash exists.
	CreateAuthCode(ctx context.Context, c *AuthorizationCode, evs ...Event) error
	// GetAuthCode returns the code, with UsedAt set if it was redeemed.
	// ErrNotFound if absent, or unused and expired at now. It changes
	// nothing: RedeemAuthCode decides who wins.
	GetAuthCode(ctx context.Context, tenant, hash string, now time.Time) (*AuthorizationCode, error)
	// RedeemAuthCode marks the code used at now and stores the tokens
	// r.Issued, atomically: of any number of concurrent calls for one code
	// exactly one succeeds, and the tokens exist exactly when the code is
	// used. r.Events are stored with it. ErrNotFound if the code is absent
	// or expired at now. If the code was used before, every token of its
	// grant is revoked at now, r.ReplayEvents are stored with the
	// revocation, and the stored code (with UsedAt set) comes back with
	// ErrAlreadyUsed, even once expired.
	RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r Redemption) (*AuthorizationCode, error)
}
