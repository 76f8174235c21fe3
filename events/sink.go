package events

import (
	"context"
	"errors"
	"fmt"

	"oauth2-server.dev/ports"
)

// Sink sends batches of events to one destination.
//
// Send returns nil only once the destination has accepted every event of
// the batch; any error means the whole batch may be sent again, so a sink
// that can write part of a batch must make a repeat harmless (consumers
// deduplicate by Event.ID). Send may be called concurrently, by a Bus and a
// Relay sharing one sink, and must not modify or keep the slice.
type Sink interface {
	// Name labels the sink in metrics and logs; unique within a Bus or a
	// Relay and stable across restarts.
	Name() string
	Send(ctx context.Context, events []ports.Event) error
}

// Discard is a ports.Publisher that drops every event, for servers that
// configure no sink.
type Discard struct{}

var _ ports.Publisher = Discard{}

// Publish validates the events and drops them.
func (Discard) Publish(_ context.Context, events ...ports.Event) error {
	return validate(events)
}

func validate(events []ports.Event) error {
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return fmt.Errorf("events: event %d (id %q): %w", i, events[i].ID, err)
		}
	}
	return nil
}

// checkSinks refuses what would make metrics or delivery bookkeeping
// ambiguous: no sink, a nil sink, two sinks with one name.
func checkSinks(sinks []Sink) error {
	if len(sinks) == 0 {
		return errors.New("events: no sink configured")
	}
	seen := make(map[string]bool, len(sinks))
	for _, s := range sinks {
		if s == nil {
			return errors.New("events: nil sink")
		}
		if s.Name() == "" {
			return errors.New("events: sink with an empty name")
		}
		if seen[s.Name()] {
			return fmt.Errorf("events: two sinks named %q", s.Name())
		}
		seen[s.Name()] = true
	}
	return nil
}
