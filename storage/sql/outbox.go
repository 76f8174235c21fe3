package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"oauth2-server.dev/ports"
)

// The outbox, the commit hook and the append modes are the store's
// ports.EventStore.
var _ ports.EventStore = (*Store)(nil)

// eventColumns are the outbox columns an append sets.
const eventColumns = "id, tenant, event_type, event_time, event, lease_until"

// ackBatch caps the ids one DELETE names, well below the bind parameter
// limits of both databases.
const ackBatch = 500

var (
	qAppendEvent = newQuery(`INSERT INTO event_outbox (` + eventColumns + `)
	VALUES (?, ?, ?, ?, ?, ?)`)
	// The CTE picks the oldest unleased rows once (MATERIALIZED keeps the
	// planner from running it again inside the UPDATE), and the UPDATE
	// repeats its condition: on PostgreSQL a row whose lease another
	// claimer committed after this statement's snapshot is re-checked on
	// its latest version and left alone, so no row is ever leased to two
	// claimers at once. RETURNING reports exactly the rows this claim won.
	qClaimEvents = newSkipLockedQuery(`WITH picked AS MATERIALIZED (
		SELECT seq FROM event_outbox
		WHERE lease_until IS NULL OR lease_until <= ?
		ORDER BY seq LIMIT ?` + skipLocked + `
	)
	UPDATE event_outbox SET lease_until = ?
	WHERE seq IN (SELECT seq FROM picked) AND (lease_until IS NULL OR lease_until <= ?)
	RETURNING seq, event`)
)

// AppendEvents stores events for delivery in one transaction, all or none.
// ErrConflict if an event id exists; ErrInvalidEvent (wrapped) if an event
// lacks an ID or a Type.
func (s *Store) AppendEvents(ctx context.Context, events ...ports.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := checkEvents(events); err != nil {
		return fmt.Errorf("sqlstore: append events: %w", err)
	}
	if s.discardEvents.Load() {
		return nil
	}
	// The writer stores a change's events after the change; these events
	// are the whole change. They bypass the OnEvents hook, which reports
	// the events of changes: whoever appends them knows of them already.
	_, err := s.w.do(ctx, &writeJob{fn: func(context.Context, *sql.Tx) ([]ports.Event, error) {
		return events, nil
	}})
	return translate("append events", err)
}

// LeaseOnAppend makes the store append events leased for lease from
// their own time, as ClaimEvents would lease them, so that claims pass
// them over until then. It is for a process whose relay takes the events
// of its own commits from the OnEvents hook (events.Relay.Hand) rather than
// claiming them: should that relay fail to deliver them, or the process
// stop first, the lease ends and any relay claims them. Zero turns it off.
func (s *Store) LeaseOnAppend(lease time.Duration) { s.appendLease.Store(int64(max(lease, 0))) }

// DiscardEvents makes changes store no events, for a server with no event
// sinks, whose outbox nothing would ever empty. Changes still report their
// events to the OnEvents hook, which counts them.
func (s *Store) DiscardEvents() { s.discardEvents.Store(true) }

// insertEvents adds events to the outbox inside tx, so that a change and
// the events describing it commit or roll back together.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, events []ports.Event) error {
	if s.discardEvents.Load() {
		return nil
	}
	for _, e := range events {
		args, err := s.eventArgs(e)
		if err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, qAppendEvent, args...); err != nil {
			return err
		}
	}
	return nil
}

// ClaimEvents leases up to limit undelivered events until now+lease and
// returns them oldest first, in append order. Events under a lease that
// has not ended at now are passed over. One statement picks and leases the
// rows, so concurrent claimers, in this process or in other replicas,
// never hold a lease on the same event at once.
//
// On PostgreSQL the sequence numbers append order by insert, not by
// commit, so an event whose transaction commits late may go out after a
// younger one; it is never skipped, since claims take every unleased row.
func (s *Store) ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]ports.Event, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlstore: claim events: limit %d is not positive", limit)
	}
	type claimed struct {
		seq   int64
		event ports.Event
	}
	var got []claimed
	err := s.write(ctx, "claim events", func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		rows, err := s.txQuery(ctx, tx, qClaimEvents, s.timeArg(now), limit, s.timeArg(now.Add(lease)), s.timeArg(now))
		if err != nil {
			return nil, err
		}
		got, err = collect(rows, func(row scanner) (claimed, error) {
			var (
				c    claimed
				body string
			)
			if err := row.Scan(&c.seq, &body); err != nil {
				return c, err
			}
			if err := json.Unmarshal([]byte(body), &c.event); err != nil {
				return c, fmt.Errorf("corrupt event %d: %w", c.seq, err)
			}
			return c, nil
		})
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING comes in no particular order.
	slices.SortFunc(got, func(a, b claimed) int { return cmp.Compare(a.seq, b.seq) })
	events := make([]ports.Event, len(got))
	for i, c := range got {
		events[i] = c.event
	}
	return events, nil
}

// AckEvents deletes the events, which keeps the outbox as small as the
// backlog. Unknown and repeated ids are ignored.
func (s *Store) AckEvents(ctx context.Context, ids []string) error {
	for batch := range slices.Chunk(ids, ackBatch) {
		// The statement's length varies with the batch, so it is not kept
		// prepared.
		q := newQuery(`DELETE FROM event_outbox WHERE id IN (?` + strings.Repeat(", ?", len(batch)-1) + `)`)
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		err := s.write(ctx, "ack events", func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
			_, err := tx.ExecContext(ctx, s.sqlFor(q), args...)
			return nil, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
