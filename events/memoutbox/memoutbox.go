package memoutbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// Outbox holds undelivered events.
type Outbox struct {
	mu   sync.Mutex
	rows []*row // append order
	byID map[string]*row
}

type row struct {
	event       ports.Event
	leasedUntil time.Time
}

var _ ports.Outbox = (*Outbox)(nil)

// New returns an empty outbox.
func New() *Outbox {
	return &Outbox{byID: make(map[string]*row)}
}

// Append adds events as a store would inside its transaction: all or none.
// ports.ErrInvalidEvent (wrapped) for an event without ID or Type;
// ports.ErrConflict if an id is already waiting in the outbox.
func (o *Outbox) Append(events ...ports.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("memoutbox: event %q: %w", e.ID, err)
		}
		if o.byID[e.ID] != nil || seen[e.ID] {
			return fmt.Errorf("memoutbox: event %q: %w", e.ID, ports.ErrConflict)
		}
		seen[e.ID] = true
	}
	for _, e := range events {
		r := &row{event: e}
		o.rows = append(o.rows, r)
		o.byID[e.ID] = r
	}
	return nil
}

// ClaimEvents implements ports.Outbox.
func (o *Outbox) ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]ports.Event, error) {
	if limit < 1 {
		return nil, errors.New("memoutbox: claim limit below 1")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []ports.Event
	for _, r := range o.rows {
		if len(out) == limit {
			break
		}
		if now.Before(r.leasedUntil) {
			continue
		}
		r.leasedUntil = now.Add(lease)
		out = append(out, r.event)
	}
	return out, nil
}

// AckEvents implements ports.Outbox.
func (o *Outbox) AckEvents(ctx context.Context, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	acked := false
	for _, id := range ids {
		if _, ok := o.byID[id]; ok {
			delete(o.byID, id)
			acked = true
		}
	}
	if acked {
		o.rows = slices.DeleteFunc(o.rows, func(r *row) bool { return o.byID[r.event.ID] != r })
	}
	return nil
}

// Len returns how many events are not yet acknowledged, leased or not.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.rows)
}
