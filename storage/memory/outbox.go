package memory

import (
	"context"
	"fmt"
	"maps"
	"time"

	"oauth2-server.dev/ports"
)

// The outbox, the commit hook and the append modes are the store's
// ports.EventStore.
var _ ports.EventStore = (*Store)(nil)

// outbox holds the events of changes until a relay acknowledges them, in
// append order. The store's mutex guards it.
type outbox struct {
	entries []*outboxEntry // append order; acknowledged entries linger until compacted
	byID    map[string]*outboxEntry
	// appendLease, when positive, is the lease events are appended under
	// (LeaseOnAppend); discard keeps events out (DiscardEvents).
	appendLease time.Duration
	discard     bool
}

type outboxEntry struct {
	event ports.Event
	// leaseUntil is when the entry's lease ends, if leased is set.
	leaseUntil time.Time
	leased     bool
	acked      bool
}

// accepts reports ErrConflict if an event's id is in the outbox already or
// twice among evs, before anything is stored.
func (o *outbox) accepts(evs []ports.Event) error {
	if o.discard {
		return nil
	}
	seen := make(map[string]bool, len(evs))
	for _, e := range evs {
		if o.byID[e.ID] != nil || seen[e.ID] {
			return fmt.Errorf("%w: event id %q exists", ports.ErrConflict, e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}

// append stores evs, which accepts has let through.
func (o *outbox) append(evs []ports.Event) {
	if o.discard {
		return
	}
	for _, e := range evs {
		en := &outboxEntry{event: copyEvent(e)}
		// An event leased on append is hidden from claims until the lease
		// ends, measured from the event's own time.
		if o.appendLease > 0 {
			en.leaseUntil, en.leased = ts(en.event.Time.Add(o.appendLease)), true
		}
		o.entries = append(o.entries, en)
		o.byID[e.ID] = en
	}
}

// copyEvent is e as the outbox keeps and returns it: its time in UTC to
// the nanosecond, as the wire format carries it, and no empty Data map,
// which the wire format leaves out.
func copyEvent(e ports.Event) ports.Event {
	e.Time = e.Time.UTC()
	if len(e.Data) == 0 {
		e.Data = nil
	} else {
		e.Data = maps.Clone(e.Data)
	}
	return e
}

// AppendEvents stores events for delivery, all or none. ErrConflict if an
// event id exists; ErrInvalidEvent (wrapped) if an event lacks an ID or a
// Type. They are not reported to the OnEvents hook, which reports the
// events of changes.
func (s *Store) AppendEvents(ctx context.Context, events ...ports.Event) error {
	const method = "AppendEvents"
	if err := s.enter(ctx, method); err != nil {
		return err
	}
	if err := ports.ValidateEvents(events); err != nil {
		return errorf(method, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.outbox.accepts(events); err != nil {
		return errorf(method, err)
	}
	s.outbox.append(events)
	return nil
}

// LeaseOnAppend makes the store append events leased for lease from
// their own time, as ClaimEvents would lease them, so that claims pass
// them over until then: for a relay that takes the events of changes from
// the OnEvents hook rather than claiming them. Zero turns it off.
func (s *Store) LeaseOnAppend(lease time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox.appendLease = max(lease, 0)
}

// DiscardEvents makes changes store no events, for a server with no event
// sinks, whose outbox nothing would ever empty. Changes still report their
// events to the OnEvents hook.
func (s *Store) DiscardEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox.discard = true
}

// ClaimEvents leases up to limit undelivered events until now+lease and
// returns them in append order. An event whose lease has not ended at now
// is passed over; one whose lease ended comes back.
func (s *Store) ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]ports.Event, error) {
	const method = "ClaimEvents"
	if err := s.enter(ctx, method); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("memory: %s: limit %d is not positive", method, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, until := ts(now), ts(now.Add(lease))
	var out []ports.Event
	for _, en := range s.outbox.entries {
		if len(out) == limit {
			break
		}
		if en.acked || en.leased && en.leaseUntil.After(at) {
			continue
		}
		en.leaseUntil, en.leased = until, true
		out = append(out, copyEvent(en.event))
	}
	return out, nil
}

// AckEvents removes the events, which keeps the outbox as small as the
// backlog. Unknown and repeated ids are ignored.
func (s *Store) AckEvents(ctx context.Context, ids []string) error {
	if err := s.enter(ctx, "AckEvents"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if en := s.outbox.byID[id]; en != nil {
			en.acked = true
			delete(s.outbox.byID, id)
		}
	}
	// Acknowledged entries are dropped once they are the greater part, so
	// that claims stay proportional to the backlog.
	if len(s.outbox.entries) > 2*len(s.outbox.byID) {
		kept := s.outbox.entries[:0]
		for _, en := range s.outbox.entries {
			if !en.acked {
				kept = append(kept, en)
			}
		}
		clear(s.outbox.entries[len(kept):])
		s.outbox.entries = kept
	}
	return nil
}
