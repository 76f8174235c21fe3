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
}
