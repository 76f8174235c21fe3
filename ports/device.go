package ports

import (
	"context"
	"time"
)

// Device authorization states (RFC 8628).
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
)

// DeviceCode is a device authorization request (RFC 8628 §3.2). Hash is the
// SHA-256 of the device_code; UserCode is what the person types, stored
// normalized (upper case, no separators).
type DeviceCode struct {
	Hash      string
	Tenant    string
	UserCode  string
	ClientID  string
	Scope     string
	Status    string // DevicePending, DeviceApproved or DeviceDenied
	UserID    string // set once decided
	SessionID string
	AuthTime  *time.Time
	// Interval is the minimum polling interval the client was told.
	Interval     time.Duration
	LastPolledAt *time.Time
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
}

// DeviceCodeStore keeps device authorization requests.
type DeviceCodeStore interface {
	// CreateDeviceCode stores a new request. ErrConflict if the hash or the
	// user code exists in the tenant.
	CreateDeviceCode(ctx context.Context, d *DeviceCode) error
	// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
	// expired at now.
	GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*DeviceCode, error)
	// DecideDeviceCode moves a pending request to DeviceApproved or
	// DeviceDenied for userID, atomically. A consent that is not nil is
	// saved as SaveConsent would, in the same change and only when the
	// decision lands. ErrNotFound if absent or expired at now;
	// ErrAlreadyUsed if it was already decided.
	DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *Consent, evs ...Event) error
	// PollDeviceCode records a poll at now and returns the request as it
	// was before the poll (so LastPolledAt tells the caller whether the
	// client polls too fast). ErrNotFound if absent or expired at now.
	PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*DeviceCode, error)
	// RedeemDeviceCode marks an approved request used at now, atomically:
	// of any number of concurrent calls exactly one succeeds. ErrNotFound if
	// absent, expired or not approved; ErrAlreadyUsed (with the record) if
	// used before.
	RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*DeviceCode, error)
}
