package ports

import "time"

// Clock tells the time. Core code takes one so tests can set time instead
// of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, truncated to microseconds so that values
// survive a round trip through every store unchanged.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
