package ports

import (
	"context"
	"time"
)

// Consent records the scopes a user granted a client.
type Consent struct {
	Tenant    string
	UserID    string
	ClientID  string
	Scope     string // space-separated
	GrantedAt time.Time
}

// ConsentStore keeps consents, one per user and client.
type ConsentStore interface {
	// SaveConsent creates or replaces the consent of c.UserID for c.ClientID.
	SaveConsent(ctx context.Context, c *Consent, evs ...Event) error
	// GetConsent returns the consent. ErrNotFound if absent.
	GetConsent(ctx context.Context, tenant, userID, clientID string) (*Consent, error)
	// DeleteConsent removes the consent; an absent consent is not an error.
	DeleteConsent(ctx context.Context, tenant, userID, clientID string, evs ...Event) error
	// ListConsents returns the user's consents ordered by client id.
	ListConsents(ctx context.Context, tenant, userID string) ([]*Consent, error)
	// RevokeConsent withdraws the user's consent to the client: the consent
	// is removed and, at now, every token issued to the client for the
	// user (its Subject) that is not revoked yet is revoked, in one change.
	// It returns how many tokens it revoked; an absent consent is not an
	// error.
	RevokeConsent(ctx context.Context, tenant, userID, clientID string, now time.Time, evs ...Event) (int, error)
}
