package ports

import (
	"context"
	"time"
)

// AuthRequest is a validated authorization request waiting for the user to
// log in and consent. Params holds the request's parameters, form-encoded.
type AuthRequest struct {
	ID        string
	Tenant    string
	ClientID  string
	Params    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuthRequestStore keeps pending authorization requests.
type AuthRequestStore interface {
	// CreateAuthRequest stores a request. ErrConflict if the id exists.
	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	// GetAuthRequest returns the request. ErrNotFound if absent or expired
	// at now.
	GetAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*AuthRequest, error)
	// ConsumeAuthRequest deletes the request and returns it, atomically: of
	// any number of concurrent calls exactly one gets it (single-use
	// request_uri values of RFC 9126). ErrNotFound if absent or expired at
	// now.
	ConsumeAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*AuthRequest, error)
	// DeleteAuthRequest removes the request; deleting an absent request is
	// not an error.
	DeleteAuthRequest(ctx context.Context, tenant, id string) error
}
