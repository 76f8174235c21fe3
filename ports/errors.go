package ports

import "errors"

// Sentinel errors shared by every adapter. Adapters wrap them (errors.Is
// matches) and never leak driver errors for these conditions.
var (
	// ErrNotFound: the record does not exist, has expired, or belongs to
	// another tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a record with the same unique key already exists.
	ErrConflict = errors.New("conflict")
	// ErrAlreadyUsed: a single-use record (authorization code, rotated
	// refresh token) was consumed before.
	ErrAlreadyUsed = errors.New("already used")
	// ErrUnavailable: the backend cannot serve the call now (down, or its
	// circuit breaker is open); callers answer "try again later".
	ErrUnavailable = errors.New("unavailable")
)
