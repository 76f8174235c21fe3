package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"oauth2-server.dev/ports"
)

// write runs fn in a transaction and stores the events fn returns in the
// outbox within it, so that a change and the events describing it commit
// or roll back together. An error from fn rolls everything back; fn
// returns driver errors or ports sentinels, which write translates.
func (s *Store) write(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(op, err)
	}
	defer tx.Rollback()
	evs, err := fn(ctx, tx)
	if err != nil {
		return translate(op, err)
	}
	if err := s.insertEvents(ctx, tx, evs); err != nil {
		return translate(op, err)
	}
	if err := tx.Commit(); err != nil {
		return translate(op, err)
	}
	if len(evs) > 0 {
		s.eventsStored(evs)
	}
	return nil
}

// exec is write for a change of one statement.
func (s *Store) exec(ctx context.Context, op string, evs []ports.Event, q query, args ...any) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		_, err := tx.ExecContext(ctx, s.sqlFor(q), args...)
		return evs, err
	})
}

// checkEvents validates events before a change starts, so that an invalid
// event costs no transaction.
func checkEvents(evs []ports.Event) error {
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("event %q: %w", e.ID, err)
		}
	}
	return nil
}

// OnEvents registers f to be called with the events of every change
// that stored some, once they are committed, so that a relay can deliver
// them at once instead of at its next poll. f must not block or keep the
// slice.
func (s *Store) OnEvents(f func([]ports.Event)) { s.onEvents.Store(&f) }

func (s *Store) eventsStored(evs []ports.Event) {
	if f := s.onEvents.Load(); f != nil {
		(*f)(evs)
	}
}

// eventHook holds the function OnEvents registered.
type eventHook = atomic.Pointer[func([]ports.Event)]
