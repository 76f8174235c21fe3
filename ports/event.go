package ports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Event types, named <entity>.<what happened>. Consumers switch on them, so
// a published name never changes meaning; a new fact gets a new name.
const (
	EventTokenIssued        = "token.issued"
	EventTokenRefreshed     = "token.refreshed"
	EventTokenRevoked       = "token.revoked"
	EventRefreshTokenReused = "token.reuse_detected" // #nosec G101 -- an event type name, not a credential
	EventCodeIssued         = "code.issued"
	EventCodeRedeemed       = "code.redeemed"
	EventCodeReused         = "code.reuse_detected"
	EventClientRegistered   = "client.registered"
	EventClientUpdated      = "client.updated"
	EventClientDeleted      = "client.deleted"
	EventLoginSucceeded     = "login.succeeded"
	EventLoginFailed        = "login.failed"
	EventConsentGranted     = "consent.granted"
	EventConsentRevoked     = "consent.revoked"
	EventKeyRotated         = "key.rotated"
	EventLogout             = "session.logout"
	EventCIBARequested      = "ciba.requested"
	EventCIBADecided        = "ciba.decided"
	EventUserDeleted        = "user.deleted"
	EventPasswordChanged    = "user.password_changed"
	EventSessionsEnded      = "user.sessions_ended"
)

// EventTypes lists every event type above, for sinks and tests that want to
// route or check them all.
var EventTypes = []string{
	EventTokenIssued, EventTokenRefreshed, EventTokenRevoked, EventRefreshTokenReused,
	EventCodeIssued, EventCodeRedeemed, EventCodeReused,
	EventClientRegistered, EventClientUpdated, EventClientDeleted,
	EventLoginSucceeded, EventLoginFailed,
	EventConsentGranted, EventConsentRevoked,
	EventKeyRotated, EventLogout,
	EventCIBARequested, EventCIBADecided,
	EventUserDeleted, EventPasswordChanged, EventSessionsEnded,
}

// ErrInvalidEvent: an event lacks its ID or its Type, so no consumer could
// deduplicate or route it.
var ErrInvalidEvent = errors.New("invalid event")

// Event is the envelope of a domain event. Its JSON form is the wire format
// every sink writes, so field names are part of the public contract.
//
// Events leave the server and land in logs, streams and third-party
// webhooks: no field ever holds a secret, a token, an authorization or
// device code, a password, or any hash of one. Refer to tokens by their
// token id (the jti or the stored id of ports.Token), to grants by GrantID,
// and put only such identifiers and non-secret facts (grant type, scope,
// reason of a failure) in Data.
//
// ID is unique per event and stays the same on every delivery attempt;
// delivery is at least once, so consumers deduplicate by ID.
type Event struct {
	ID       string            `json:"id"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Tenant   string            `json:"tenant,omitempty"`
	Subject  string            `json:"subject,omitempty"`   // user id, or the client id for client_credentials
	ClientID string            `json:"client_id,omitempty"` // the OAuth client concerned
	TraceID  string            `json:"trace_id,omitempty"`  // W3C trace id of the request that caused it
	Data     map[string]string `json:"data,omitempty"`
}

// Validate returns ErrInvalidEvent unless the event has an ID and a Type.
func (e Event) Validate() error {
	if e.ID == "" || e.Type == "" {
		return ErrInvalidEvent
	}
	return nil
}

// ValidateEvents returns the error of the first event that fails Validate,
// naming it.
func ValidateEvents(evs []Event) error {
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("event %q: %w", e.ID, err)
		}
	}
	return nil
}

// NewEventID returns a 128-bit identifier in hex: the current millisecond
// in its first 48 bits, then 80 random bits. The random part lets several
// replicas mint ids without coordination; the time part keeps the outbox's
// index of ids growing at its end rather than at random places.
func NewEventID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i)) // #nosec G115 -- keeps one byte of the 48-bit time on purpose
	}
	rand.Read(b[6:]) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b[:])
}

// Publisher hands events to delivery.
type Publisher interface {
	// Publish accepts events for asynchronous delivery and returns without
	// waiting for any sink. A nil error means accepted, not delivered: for
	// delivery that survives a crash or a sink outage, write events to an
	// outbox in the store's transaction instead. It returns ErrInvalidEvent
	// (wrapped) if an event lacks an ID or a Type, and another error if the
	// publisher is closed or had to drop events because a buffer was full.
	// Callers on a request path log the error; they do not fail the request.
	Publish(ctx context.Context, events ...Event) error
}
