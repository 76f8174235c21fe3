package core

import (
	"errors"
	"net/http"

	"oauth2-server.dev/ports"
)

// Error is an OAuth 2.0 protocol error (RFC 6749 §4.1.2.1, §5.2). Code and
// Description go on the wire; Cause stays in the server's log. The package's
// sentinels are templates: use WithDescription or Wrap, which copy, and
// never change them in place.
type Error struct {
	Code        string
	Description string
	Status      int
	Cause       error
}

func (e *Error) Error() string {
	if e.Description != "" {
		return e.Code + ": " + e.Description
	}
	return e.Code
}

func (e *Error) Unwrap() error { return e.Cause }

// Is matches errors by code, so errors.Is(err, ErrInvalidGrant) holds for any
// described copy.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithDescription returns a copy of e carrying a human-readable description.
func (e *Error) WithDescription(d string) *Error {
	c := *e
	c.Description = d
	return &c
}

// withStatus returns a copy of e answered with another HTTP status.
func (e *Error) withStatus(status int) *Error {
	c := *e
	c.Status = status
	return &c
}

// Wrap returns a copy of e recording cause for the log.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// Protocol error templates.
var (
	ErrInvalidRequest          = &Error{Code: "invalid_request", Status: http.StatusBadRequest}
	ErrInvalidClient           = &Error{Code: "invalid_client", Status: http.StatusUnauthorized}
	ErrInvalidGrant            = &Error{Code: "invalid_grant", Status: http.StatusBadRequest}
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client", Status: http.StatusBadRequest}
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type", Status: http.StatusBadRequest}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type", Status: http.StatusBadRequest}
	ErrInvalidScope            = &Error{Code: "invalid_scope", Status: http.StatusBadRequest}
	ErrAccessDenied            = &Error{Code: "access_denied", Status: http.StatusForbidden}
	ErrServerError             = &Error{Code: "server_error", Status: http.StatusInternalServerError}
	ErrTemporarilyUnavailable  = &Error{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable}
	ErrLoginRequired           = &Error{Code: "login_required", Status: http.StatusBadRequest}
	ErrConsentRequired         = &Error{Code: "consent_required", Status: http.StatusBadRequest}
	ErrInvalidToken            = &Error{Code: "invalid_token", Status: http.StatusUnauthorized}
	ErrInsufficientScope       = &Error{Code: "insufficient_scope", Status: http.StatusForbidden}
	ErrInvalidRedirectURI      = &Error{Code: "invalid_redirect_uri", Status: http.StatusBadRequest}
	ErrInvalidClientMetadata   = &Error{Code: "invalid_client_metadata", Status: http.StatusBadRequest}
	ErrInvalidTarget           = &Error{Code: "invalid_target", Status: http.StatusBadRequest}
)

// AsError returns err as a protocol error. Anything that is not one becomes
// server_error with err kept as the cause, so internal text never reaches a
// client.
func AsError(err error) *Error {
	if errors.Is(err, ports.ErrUnavailable) {
		return ErrTemporarilyUnavailable.WithDescription("the service is temporarily unavailable; try again shortly").Wrap(err)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrServerError.Wrap(err)
}
