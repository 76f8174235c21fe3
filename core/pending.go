package core

import (
	"errors"
	"time"

	"oauth2-server.dev/ports"
)

// Errors of a token request that polls for a person's decision (RFC 8628
// §3.5, which CIBA §11 reuses).
var (
	ErrAuthorizationPending = &Error{Code: "authorization_pending", Status: 400}
	ErrSlowDown             = &Error{Code: "slow_down", Status: 400}
	ErrExpiredToken         = &Error{Code: "expired_token", Status: 400}
)

// pendingDecision is what differs between the grants whose client polls
// the token endpoint while a person decides elsewhere: the device grant
// (RFC 8628) and backchannel authentication (CIBA). Both keep a request
// that is pending until the person approves or denies it, and redeem an
// approved one once.
type pendingDecision struct {
	// handle is how error descriptions name what the client polls with:
	// "the device code", "the auth_req_id".
	handle string
	// expired describes an expired request to the client.
	expired string
	// pending and denied are the request's states of that name.
	pending, denied string
}

// issuedToAnother answers a poll by a client other than the request's.
func (k pendingDecision) issuedToAnother() error {
	return ErrInvalidGrant.WithDescription(k.handle + " was issued to another client")
}

// answer returns the token endpoint's answer to a poll of a request in
// status, last polled at lastPolled, that is not approved yet; nil when
// it is approved and is to be redeemed.
func (k pendingDecision) answer(status string, lastPolled *time.Time, interval time.Duration, now time.Time) error {
	switch status {
	case k.pending:
		// RFC 8628 §3.5 (and CIBA §11): polling faster than the interval
		// earns slow_down.
		return pendingError(lastPolled, interval, now)
	case k.denied:
		return ErrAccessDenied.WithDescription("the user denied the request").withStatus(400)
	}
	return nil
}

// redeemError answers a redemption the store refused: a request used
// before, or one that expired since the poll.
func (k pendingDecision) redeemError(err error) error {
	switch {
	case errors.Is(err, ports.ErrAlreadyUsed):
		return ErrInvalidGrant.WithDescription(k.handle + " was already used")
	case errors.Is(err, ports.ErrNotFound):
		return ErrExpiredToken.WithDescription(k.expired)
	}
	return ErrServerError.Wrap(err)
}

// pendingError answers a poll of a request the user has not decided yet:
// slow_down when the last poll was less than interval ago, else
// authorization_pending.
func pendingError(lastPolled *time.Time, interval time.Duration, now time.Time) *Error {
	if lastPolled != nil && now.Sub(*lastPolled) < interval {
		return ErrSlowDown.WithDescription("poll no more often than every " + interval.String())
	}
	return ErrAuthorizationPending.WithDescription("the user has not answered yet")
}
