package memsink

import (
	"context"
	"sync"

	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
)

// Sink records events in the order Send accepted them.
type Sink struct {
	name string

	mu      sync.Mutex
	events  []ports.Event
	calls   int
	err     error // returned by every Send while set
	failN   int   // further Sends that return failErr
	failErr error
	changed chan struct{} // closed and replaced whenever events grows
}

var _ events.Sink = (*Sink)(nil)

// New returns an empty sink named name.
func New(name string) *Sink {
	return &Sink{name: name, changed: make(chan struct{})}
}

// Name returns the name given to New.
func (s *Sink) Name() string { return s.name }

// Send records the batch, or fails without recording anything while a
// failure is set.
func (s *Sink) Send(ctx context.Context, batch []ports.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return s.err
	}
	if s.failN > 0 {
		s.failN--
		return s.failErr
	}
	s.events = append(s.events, batch...)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// SetError makes every Send fail with err until SetError(nil).
func (s *Sink) SetError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// FailNext makes the next n Sends fail with err.
func (s *Sink) FailNext(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failErr = n, err
}

// Calls returns how many times Send was called, failed calls included.
func (s *Sink) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Events returns a copy of what was recorded.
func (s *Sink) Events() []ports.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ports.Event(nil), s.events...)
}

// Wait returns the recorded events once there are at least n, or ctx's
// error with what was recorded so far if ctx ends first. Give ctx a
// deadline: Wait is how tests avoid sleeping.
func (s *Sink) Wait(ctx context.Context, n int) ([]ports.Event, error) {
	for {
		s.mu.Lock()
		got, changed := len(s.events), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Events(), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Events(), ctx.Err()
		}
	}
}
