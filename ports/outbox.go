package ports

import (
	"context"
	"time"
)

// EventStore is a store's side of at-least-once event delivery: the
// outbox its changes write their events to (see Store), what a relay
// claims from it, and how the process running the relay tunes it. Every
// store provides all of it, so the server never has to ask whether one
// does.
type EventStore interface {
	EventLog
	Outbox
	EventHook
	EventDiscarder
	EventLeaser
}

// EventLog appends domain events to a store's outbox, from which a relay
// delivers them at least once.
type EventLog interface {
	// AppendEvents stores events for delivery, all or none. ErrConflict if
	// an event id exists. ErrInvalidEvent (wrapped) if an event lacks an ID
	// or a Type. The events are not reported to the EventHook, which
	// reports the events of changes: whoever appends them knows of them
	// already.
	AppendEvents(ctx context.Context, events ...Event) error
}

// Outbox is the relay's side of the outbox: it claims the events changes
// and AppendEvents stored, and acknowledges them once delivered.
type Outbox interface {
	// ClaimEvents leases up to limit undelivered events until now+lease and
	// returns them oldest first. An event under an unexpired lease is not
	// returned, so concurrent relays do not send the same batch at once; an
	// event whose lease expired without an ack is returned again. Nothing
	// to claim is an empty result and a nil error. A limit below 1 is an
	// error.
	ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]Event, error)
	// AckEvents marks events delivered so they are never claimed again.
	// Acknowledging an unknown or already acknowledged id is not an error: a
	// relay whose lease expired may ack after another relay did.
	AckEvents(ctx context.Context, ids []string) error
}

// EventHook reports the events of changes as they are committed, so that
// a relay can deliver them at once instead of at its next claim, and the
// server can count them.
type EventHook interface {
	// OnEvents registers f, replacing any function registered before, to
	// be called with the events of every change that stored some, once
	// the change is committed; never for a change that failed. f must not
	// block or keep the slice.
	OnEvents(f func([]Event))
}

// EventDiscarder keeps events out of the outbox, for a server with no
// event sink: nothing would ever take them out again.
type EventDiscarder interface {
	// DiscardEvents makes changes, and AppendEvents, store no events from
	// now on. Changes still happen, and still report their events to the
	// EventHook.
	DiscardEvents()
}

// EventLeaser lets a relay take the events of its own process's commits
// from the EventHook (events.Relay.Hand) rather than claiming them.
type EventLeaser interface {
	// LeaseOnAppend makes the store append events leased for lease from
	// their own Time, as ClaimEvents would lease them, so that claims pass
	// them over until then: should the relay fail to deliver them, or the
	// process stop first, the lease ends and any relay claims them. Zero
	// turns it off.
	LeaseOnAppend(lease time.Duration)
}
