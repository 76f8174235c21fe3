package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"

	"oauth2-server.dev/ports"
)

// ErrUnavailable means a dependency could not serve the call: its breaker is
// open, or the call failed in a way that counts as an outage (a timeout, a
// refused connection). Handlers answer it with 503 temporarily_unavailable.
var ErrUnavailable = ports.ErrUnavailable

// State is a breaker's state. The values are the ones exported in the
// oauth2_breaker_state gauge.
type State int

// Breaker states.
const (
	StateClosed   State = 0
	StateHalfOpen State = 1
	StateOpen     State = 2
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// BreakerSettings configures a Breaker. The zero value of every field but
// Name picks the default in its comment.
type BreakerSettings struct {
	// Name labels the breaker's metrics and errors: "store", "redis", ...
	Name string
	// Failures is how many consecutive failures open the breaker. Default 5.
	Failures uint32
	// OpenFor is how long an open breaker refuses every call before letting
	// probes through. Default 5s: short enough that service resumes soon
	// after the dependency does, long enough that a dead dependency sees a
	// trickle of probes rather than the full request rate.
	OpenFor time.Duration
	// Probes is how many calls a half-open breaker lets through; that many
	// successes in a row close it, one failure opens it again. Default 1.
	Probes uint32
	// IsAnswer reports whether a non-nil error is an answer from a healthy
	// dependency, which counts as a success and is returned unchanged.
	// Default: ports.ErrNotFound, ports.ErrConflict and ports.ErrAlreadyUsed.
	IsAnswer func(error) bool
	// OnStateChange, if set, is told of every transition, for logging. It
	// runs while the breaker holds its lock: it must not call the breaker.
	OnStateChange func(name string, from, to State)
	// Metrics receives the state gauge and trip counter; nil records nothing.
	Metrics *Metrics
}

// Breaker is a circuit breaker around one dependency. It is safe for
// concurrent use; share one per dependency, not one per caller, so that every
// caller sees the dependency's health at once.
type Breaker struct {
	name     string
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	isAnswer func(error) bool
	metrics  *Metrics
}

// errExcluded reports a call whose outcome says nothing about the
// dependency (the caller gave up first); gobreaker is told to ignore it.
var errExcluded = errors.New("excluded")

// NewBreaker returns a closed breaker.
func NewBreaker(s BreakerSettings) *Breaker {
	if s.Failures == 0 {
		s.Failures = 5
	}
	if s.OpenFor <= 0 {
		s.OpenFor = 5 * time.Second
	}
	if s.Probes == 0 {
		s.Probes = 1
	}
	if s.IsAnswer == nil {
		s.IsAnswer = IsProtocolAnswer
	}
	m := s.Metrics
	m.setBreakerState(s.Name, StateClosed)
	if m != nil {
		// Create the series at zero so rate() works from the first trip.
		m.breakerTrips.WithLabelValues(s.Name)
	}
	failures := s.Failures
	onChange := s.OnStateChange
	cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        s.Name,
		MaxRequests: s.Probes,
		Timeout:     s.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			f, t := fromGobreaker(from), fromGobreaker(to)
			m.setBreakerState(name, t)
			if t == StateOpen {
				m.breakerTripped(name)
			}
			if onChange != nil {
				onChange(name, f, t)
			}
		},
	})
	return &Breaker{name: s.Name, cb: cb, isAnswer: s.IsAnswer, metrics: m}
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	case gobreaker.StateOpen:
		return StateOpen
	}
	return StateClosed
}

// IsProtocolAnswer reports whether err is one of the ports sentinels, which
// a store returns when it works: a missing record is an answer, not an
// outage, and must never open a breaker.
func IsProtocolAnswer(err error) bool {
	return errors.Is(err, ports.ErrNotFound) || errors.Is(err, ports.ErrConflict) || errors.Is(err, ports.ErrAlreadyUsed)
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// State returns the breaker's current state.
func (b *Breaker) State() State { return fromGobreaker(b.cb.State()) }

// Do runs fn through the breaker with a context that expires after timeout
// (no extra deadline when timeout <= 0). fn must honour its context: Do
// waits for it to return, which is what keeps results and goroutines from
// outliving the call.
//
// An open breaker returns an error matching ErrUnavailable without calling
// fn. Otherwise fn's error is returned unchanged when it is nil or an answer
// (IsAnswer), and otherwise wrapped so that it matches both ErrUnavailable
// and the original error. Failures count against the dependency unless ctx
// itself had ended first: a caller that left or a request deadline that
// passed says nothing about the dependency's health (the per-call timeout
// is its measure). A passed request deadline is still reported as
// ErrUnavailable, because the request could not be served in time; a
// cancelled ctx comes back as is.
func (b *Breaker) Do(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	done, err := b.cb.Allow()
	if err != nil {
		return &unavailableError{name: b.name, cause: err}
	}
	callCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	finished := false
	defer func() {
		// A panicking fn is a failure; the panic goes on up.
		if !finished {
			done(errors.New("panic"))
		}
	}()
	start := time.Now()
	err = fn(callCtx)
	b.metrics.observeCall(b.name, time.Since(start))
	finished = true
	switch {
	case err == nil || b.isAnswer(err):
		done(nil)
		return err
	case ctx.Err() != nil:
		done(errExcluded)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &unavailableError{name: b.name, cause: err}
		}
		return err
	default:
		done(err)
		return &unavailableError{name: b.name, cause: err}
	}
}

// unavailableError matches ErrUnavailable and unwraps to its cause, so logs
// keep the driver's text while handlers see one sentinel.
type unavailableError struct {
	name  string
	cause error
}

func (e *unavailableError) Error() string {
	return ErrUnavailable.Error() + " (" + e.name + "): " + e.cause.Error()
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }
