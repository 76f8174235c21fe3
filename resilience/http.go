package resilience

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"oauth2-server.dev/ports/oautherr"
)

// defaultRetryAfter is what refusals advertise when no RetryAfter is
// configured: overload passes in seconds, and a client that retries sooner
// only adds to it.
const defaultRetryAfter = time.Second

// BulkheadOptions configures one route group's bulkhead.
type BulkheadOptions struct {
	// Group names the route group in metrics ("token", "authorize", ...).
	Group string
	// MaxConcurrent is how many requests of the group run at once; must be
	// at least 1.
	MaxConcurrent int
	// QueueTimeout is how long a request waits for a free slot before it is
	// refused. Zero refuses at once. Keep it short: a long wait only moves
	// the queue from the handler into the bulkhead.
	QueueTimeout time.Duration
	// RetryAfter is advertised on refusals. Default 1s.
	RetryAfter time.Duration
	// Metrics counts refusals; nil records nothing.
	Metrics *Metrics
	// WriteError writes the refusals; nil means oautherr.Write, the
	// server's one writer of RFC 6749 error bodies.
	WriteError oautherr.Writer
}

// Bulkhead bounds how many requests of one route group run at once, so that
// a slow group (say, a password hash per login) cannot take every worker and
// starve the token endpoint. A request that finds no slot within
// QueueTimeout gets 503 temporarily_unavailable with Retry-After. Use one
// Bulkhead per group: each call makes its own slots.
func Bulkhead(o BulkheadOptions) func(http.Handler) http.Handler {
	if o.MaxConcurrent < 1 {
		o.MaxConcurrent = 1
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = defaultRetryAfter
	}
	slots := make(chan struct{}, o.MaxConcurrent)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !acquire(r.Context(), slots, o.QueueTimeout) {
				if r.Context().Err() == nil {
					o.Metrics.bulkheadRejected(o.Group)
				}
				writeUnavailable(w, o.WriteError, o.RetryAfter, "the server is busy, retry later")
				return
			}
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		})
	}
}

// acquire takes a slot, waiting at most wait, and gives up early if the
// client goes away.
func acquire(ctx context.Context, slots chan struct{}, wait time.Duration) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// ShedOptions configures load shedding.
type ShedOptions struct {
	// MaxInFlight is how many requests the server works on at once before it
	// refuses new ones; must be at least 1. Set it to what the server can
	// finish within clients' timeouts, not to what it can hold in memory.
	MaxInFlight int
	// RetryAfter is advertised on refusals. Default 1s.
	RetryAfter time.Duration
	// Skip exempts requests from shedding (health, readiness, metrics): they
	// are cheap and an orchestrator must see them answered under load.
	Skip func(*http.Request) bool
	// Metrics counts refusals; nil records nothing.
	Metrics *Metrics
	// WriteError writes the refusals; nil means oautherr.Write, the
	// server's one writer of RFC 6749 error bodies.
	WriteError oautherr.Writer
}

// Shed refuses requests with 503 temporarily_unavailable and Retry-After
// while MaxInFlight requests are already in flight. It waits for nothing:
// refusing the moment the server is full is what keeps latency bounded for
// the requests it does take, instead of letting queues (and with them every
// request's latency) grow until clients time out. Place it before bulkheads,
// which do queue.
func Shed(o ShedOptions) func(http.Handler) http.Handler {
	if o.MaxInFlight < 1 {
		o.MaxInFlight = 1
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = defaultRetryAfter
	}
	var inFlight atomic.Int64
	limit := int64(o.MaxInFlight)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o.Skip != nil && o.Skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			if inFlight.Add(1) > limit {
				inFlight.Add(-1)
				o.Metrics.shedOne()
				writeUnavailable(w, o.WriteError, o.RetryAfter, "the server is overloaded, retry later")
				return
			}
			defer inFlight.Add(-1)
			next.ServeHTTP(w, r)
		})
	}
}

// Deadline gives every request a context that ends after d (or earlier, if
// the incoming context already ends earlier), so that store calls, outbound
// requests and anything else that honours the context stop waiting once the
// client has most likely given up. It writes nothing itself: a handler whose
// store call ran out of time answers as it answers any unavailable store.
func Deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// writeUnavailable answers 503 temporarily_unavailable, the code RFC 6749
// §4.1.2.1 defines for an overloaded server, with write or, when it is
// nil, oautherr.Write.
func writeUnavailable(w http.ResponseWriter, write oautherr.Writer, retryAfter time.Duration, description string) {
	if write == nil {
		write = oautherr.Write
	}
	write(w, oautherr.Response{Status: http.StatusServiceUnavailable, Code: oautherr.TemporarilyUnavailable,
		Description: description, RetryAfter: retryAfter})
}
