package ports

import (
	"context"
	"time"
)

// States of a client-initiated backchannel authentication request (OpenID
// Connect CIBA Core 1.0).
const (
	CIBAPending  = "pending"
	CIBAApproved = "approved"
	CIBADenied   = "denied"
)

// Token delivery modes (CIBA §5) a CIBARequest may use.
const (
	CIBAModePoll = "poll"
	CIBAModePing = "ping"
)

// CIBARequest is a backchannel authentication request (CIBA §7). Two
// random values name it: the auth_req_id the client polls with, kept only
// as its SHA-256 in Hash, and the decision id the person's authentication
// device opens the decision page with, kept only as its SHA-256 in
// DecisionHash. Neither is ever derived from the other, so the client
// cannot reach the decision page and the device cannot redeem tokens.
type CIBARequest struct {
	Hash         string
	Tenant       string
	DecisionHash string
	ClientID     string
	// UserID is the user the request's hint named: only that user may
	// decide it.
	UserID string
	Scope  string
	// BindingMessage is shown to the person with the request (CIBA §7.1);
	// empty when the client sent none.
	BindingMessage string
	DeliveryMode   string // CIBAModePoll or CIBAModePing
	// Ping holds, in ping mode, the auth_req_id and the client's
	// client_notification_token sealed under the server's key: the ping
	// callback (CIBA §10.2) sends both, possibly from another replica than
	// the one that took the request. Empty in poll mode.
	Ping      []byte
	Status    string // CIBAPending, CIBAApproved or CIBADenied
	SessionID string // the login session that decided; set once decided
	AuthTime  *time.Time
	// Interval is the minimum polling interval the client was told.
	Interval     time.Duration
	LastPolledAt *time.Time
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
}

// CIBAStore keeps backchannel authentication requests.
type CIBAStore interface {
	// CreateCIBARequest stores a new request. ErrConflict if the hash or
	// the decision hash exists in the tenant.
	CreateCIBARequest(ctx context.Context, r *CIBARequest, evs ...Event) error
	// GetCIBARequestByDecision returns the request whose decision id has
	// the hash. ErrNotFound if absent or expired at now.
	GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*CIBARequest, error)
	// DecideCIBARequest moves a pending request to CIBAApproved or
	// CIBADenied, recording the deciding session, atomically: of
	// concurrent decisions exactly one lands. A consent that is not nil is
	// saved as SaveConsent would, in the same change and only when the
	// decision lands. ErrNotFound if absent or expired at now;
	// ErrAlreadyUsed if it was already decided.
	DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *Consent, evs ...Event) error
	// PollCIBARequest records a poll at now and returns the request as it
	// was before the poll (so LastPolledAt tells the caller whether the
	// client polls too fast). An expired request is returned too, so the
	// caller can tell an expired request from an unknown one; ErrNotFound
	// if absent.
	PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*CIBARequest, error)
	// RedeemCIBARequest marks an approved request used at now, atomically:
	// of any number of concurrent calls exactly one succeeds. ErrNotFound
	// if absent, expired or not approved; ErrAlreadyUsed (with the record)
	// if used before, even once expired.
	RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*CIBARequest, error)
}

// CIBANotice is what a CIBANotifier tells a person's authentication device:
// a client asks them to approve a sign-in. It carries no secret: the
// decision URL names the request, and only the user it names, signed in,
// can decide it.
type CIBANotice struct {
	// ID is unique per notice and stays the same on every delivery
	// attempt, so a receiver can drop repeats.
	ID             string
	Tenant         string
	UserID         string
	Username       string
	ClientID       string
	ClientName     string
	Scope          string
	BindingMessage string
	// DecisionURL is the page where the person approves or denies.
	DecisionURL string
	ExpiresAt   time.Time
}

// CIBANotifier reaches the authentication device of the user a
// backchannel authentication request names (CIBA §8). NotifyCIBA returns
// once the notice is delivered or delivery failed for good; it retries as
// its channel needs. The server calls it off the request path.
type CIBANotifier interface {
	NotifyCIBA(ctx context.Context, n CIBANotice) error
}
