package events

import (
	"math/rand/v2"
	"time"
)

// Backoff tells how long to wait before attempt number attempt+1, after
// attempt (counted from 1) failed.
type Backoff func(attempt int) time.Duration

// ExponentialBackoff doubles the wait from initial up to max, with full
// jitter: each wait is drawn uniformly from [0, cap]. Jitter keeps replicas
// that lost the same sink at the same moment from retrying in lockstep.
func ExponentialBackoff(initial, max time.Duration) Backoff {
	return func(attempt int) time.Duration {
		limit := initial
		for i := 1; i < attempt && limit < max; i++ {
			limit *= 2
		}
		limit = min(limit, max)
		if limit <= 0 {
			return 0
		}
		return rand.N(limit + 1) // #nosec G404 -- a jitter between retries, not a secret
	}
}

// sleep waits d or until done is closed, and reports whether it waited the
// whole d.
func sleep(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
