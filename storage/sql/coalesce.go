package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"oauth2-server.dev/ports"
)

// insertRows is a change that only adds records: the tokens of a grant
// that creates nothing else, and their events. On PostgreSQL the writer
// folds the inserts of all such changes waiting together into one
// statement, a round trip for the whole group instead of one per row and
// per transaction step.
type insertRows struct {
	tokens []*ports.Token
	events []ports.Event
}

// maxCoalescedRows keeps a folded statement within PostgreSQL's 65,535
// bind parameters: 18 per token, 6 per event.
const maxCoalescedRows = 1500

// tokenArgs are the column values of t, in tokenColumns order.
func (s *Store) tokenArgs(t *ports.Token) []any {
	return []any{t.Tenant, t.ID, t.Kind, t.GrantID, t.ClientID, t.Subject, t.Scope, t.Audience, t.SessionID,
		s.nullTimeArg(t.AuthTime), t.ParentID, s.timeArg(t.IssuedAt), s.timeArg(t.ExpiresAt),
		s.nullTimeArg(t.UsedAt), s.nullTimeArg(t.RevokedAt), t.JKT, t.X5TS256, t.AuthorizationDetails}
}

// eventArgs are the outbox column values of e, in eventColumns order.
func (s *Store) eventArgs(e ports.Event) ([]any, error) {
	// Stored times read back in UTC, as every other time of the store.
	e.Time = e.Time.UTC()
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", e.ID, err)
	}
	// An event leased on append is hidden from claims until the lease
	// ends, measured from the event's own time.
	var leaseUntil any
	if d := time.Duration(s.appendLease.Load()); d > 0 {
		leaseUntil = s.timeArg(e.Time.Add(d))
	}
	return []any{e.ID, e.Tenant, e.Type, s.timeArg(e.Time), string(body), leaseUntil}, nil
}

// insertStatement builds one PostgreSQL statement adding every token and
// event of rows: data-modifying common table expressions, which commit
// together as the single statement they are.
func (s *Store) insertStatement(rows []*insertRows) (string, []any, error) {
	var (
		b      strings.Builder
		args   []any
		n      int
		tokens []string
		events []string
	)
	placeholders := func(count int) string {
		var p strings.Builder
		p.WriteByte('(')
		for i := range count {
			if i > 0 {
				p.WriteString(", ")
			}
			n++
			p.WriteByte('$')
			p.WriteString(strconv.Itoa(n))
		}
		p.WriteByte(')')
		return p.String()
	}
	for _, r := range rows {
		for _, t := range r.tokens {
			a := s.tokenArgs(t)
			args = append(args, a...)
			tokens = append(tokens, placeholders(len(a)))
		}
		if s.discardEvents.Load() {
			continue
		}
		for _, e := range r.events {
			a, err := s.eventArgs(e)
			if err != nil {
				return "", nil, err
			}
			args = append(args, a...)
			events = append(events, placeholders(len(a)))
		}
	}
	if len(tokens) > 0 {
		b.WriteString("WITH t AS (INSERT INTO tokens (" + tokenColumns + ") VALUES ")
		b.WriteString(strings.Join(tokens, ", "))
		b.WriteString(") ")
	}
	if len(events) > 0 {
		b.WriteString("INSERT INTO event_outbox (" + eventColumns + ") VALUES ")
		b.WriteString(strings.Join(events, ", "))
	} else {
		// A token-only group still needs a statement for its CTE.
		b.WriteString("SELECT 1")
	}
	return b.String(), args, nil
}

// runInserts commits the insert-only jobs of a PostgreSQL batch in one
// statement, groups of at most maxCoalescedRows rows at a time. A group
// that fails (a taken id) runs again job by job, so that only the job at
// fault fails.
func (w *writer) runInserts(ctx context.Context, jobs []*writeJob) {
	for len(jobs) > 0 {
		size, rows := 0, 0
		for size < len(jobs) && (size == 0 || rows+len(jobs[size].rows.tokens)+len(jobs[size].rows.events) <= maxCoalescedRows) {
			rows += len(jobs[size].rows.tokens) + len(jobs[size].rows.events)
			size++
		}
		group := jobs[:size]
		jobs = jobs[size:]
		if err := w.insertGroup(ctx, group); err != nil && len(group) > 1 {
			for _, j := range group {
				_ = w.insertGroup(ctx, []*writeJob{j})
			}
		}
	}
}

func (w *writer) insertGroup(ctx context.Context, group []*writeJob) error {
	rows := make([]*insertRows, len(group))
	for i, j := range group {
		rows[i] = j.rows
	}
	q, args, err := w.store.insertStatement(rows)
	if err == nil {
		_, err = w.db.ExecContext(ctx, q, args...)
	}
	for _, j := range group {
		if err != nil {
			j.evs, j.err = nil, err
		} else {
			j.evs, j.err = j.rows.events, nil
		}
	}
	if err == nil {
		w.commits.Add(1)
		w.changes.Add(int64(len(group)))
	}
	return err
}
