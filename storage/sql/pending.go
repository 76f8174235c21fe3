package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"oauth2-server.dev/ports"
)

// pendingTable is one kind of request that waits for a person's decision
// while its client polls for the outcome: device codes (RFC 8628) and
// backchannel authentication requests (CIBA). Both live the same way:
// created pending, decided once by one conditional UPDATE (with the
// consent that comes with an approval), polled with the time of each poll
// kept, and, once approved, redeemed exactly once. Each row is found by
// its hash (what the client polls with) and by a second name (what the
// person decides with: the user code, the decision hash).
type pendingTable[T any] struct {
	noun   string // in error texts: "device code", "ciba request"
	scan   func(scanner) (*T, error)
	state  func(*T) pendingState
	create query
	// getLive and getAnyTime find a row by its second name; byHash,
	// pollRead (locking) by its hash.
	getLive, getAnyTime, byHash, pollRead query
	decide, poll, redeem                  query
	// pollLive is whether a poll finds only rows live at now.
	pollLive bool
	// approved and denied are the kind's decisions.
	approved, denied string
}

// pendingState is what the lifecycle reads of a request.
type pendingState struct {
	status    string
	expiresAt time.Time
	usedAt    *time.Time
}

// pendingKind names the parts of a kind of pending request its queries
// are built from.
type pendingKind struct {
	noun, table, columns string
	// name is the column of the second name; decideSet the assignments
	// of a decision, whose arguments come first.
	name, decideSet string
	// pending, approved and denied are the kind's states of that name.
	pending, approved, denied string
	pollLive                  bool
}

func newPendingTable[T any](k pendingKind, scan func(scanner) (*T, error), state func(*T) pendingState) pendingTable[T] {
	placeholders := "?" + strings.Repeat(", ?", strings.Count(k.columns, ","))
	from := ` FROM ` + k.table + ` WHERE tenant = ? AND `
	pollRead := `SELECT ` + k.columns + from + `hash = ?`
	if k.pollLive {
		pollRead += ` AND expires_at > ?`
	}
	return pendingTable[T]{
		noun: k.noun, scan: scan, state: state,
		create:     newQuery(`INSERT INTO ` + k.table + ` (` + k.columns + `) VALUES (` + placeholders + `)`),
		getLive:    newQuery(`SELECT ` + k.columns + from + k.name + ` = ? AND expires_at > ?`),
		getAnyTime: newQuery(`SELECT ` + k.columns + from + k.name + ` = ?`),
		byHash:     newQuery(`SELECT ` + k.columns + from + `hash = ?`),
		pollRead:   newForUpdateQuery(pollRead),
		// The status condition decides the race: once one decision
		// commits, the row no longer matches for the others.
		decide: newQuery(`UPDATE ` + k.table + ` SET ` + k.decideSet + `
	WHERE tenant = ? AND ` + k.name + ` = ? AND status = '` + k.pending + `' AND expires_at > ?`),
		poll: newQuery(`UPDATE ` + k.table + ` SET last_polled_at = ? WHERE tenant = ? AND hash = ?`),
		redeem: newQuery(`UPDATE ` + k.table + ` SET used_at = ?
	WHERE tenant = ? AND hash = ? AND status = '` + k.approved + `' AND used_at IS NULL AND expires_at > ?
	RETURNING ` + k.columns),
		pollLive: k.pollLive, approved: k.approved, denied: k.denied,
	}
}

// get returns the request with the second name. ErrNotFound if absent or
// expired at now.
func (k pendingTable[T]) get(ctx context.Context, s *Store, tenant, name string, now time.Time) (*T, error) {
	r, err := k.scan(s.queryRow(ctx, k.getLive, tenant, name, s.timeArg(now)))
	if err != nil {
		return nil, translate("get "+k.noun, err)
	}
	return r, nil
}

// decideRow moves the pending request with the second name to status in
// one conditional UPDATE, so that of concurrent decisions exactly one
// lands, and saves consent, if any, in the same transaction. set are the
// arguments of the decision's assignments. ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (k pendingTable[T]) decideRow(ctx context.Context, s *Store, tenant, name, status string, now time.Time, consent *ports.Consent, evs []ports.Event, set ...any) error {
	op := "decide " + k.noun
	if status != k.approved && status != k.denied {
		return fmt.Errorf("sqlstore: %s: status %q is not a decision", op, status)
	}
	err := s.decide(ctx, op, consent, evs, k.decide, append(set, tenant, name, s.timeArg(now))...)
	if !errors.Is(err, ports.ErrNotFound) {
		return err
	}
	// No row matched: tell a decided request from an absent or expired one.
	r, err := k.scan(s.queryRow(ctx, k.getAnyTime, tenant, name))
	if err != nil {
		return translate(op, err)
	}
	st := k.state(r)
	if !now.Before(st.expiresAt) {
		return fmt.Errorf("sqlstore: %s: expired: %w", op, ports.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: already %s: %w", op, st.status, ports.ErrAlreadyUsed)
}

// pollRow records a poll at now and returns the request as it was before,
// in one transaction that locks the row, so that concurrent polls take
// turns and each sees the one before it. ErrNotFound if absent, or, for a
// kind polled only while live, expired at now.
func (k pendingTable[T]) pollRow(ctx context.Context, s *Store, tenant, hash string, now time.Time) (*T, error) {
	args := []any{tenant, hash}
	if k.pollLive {
		args = append(args, s.timeArg(now))
	}
	var r *T
	err := s.write(ctx, "poll "+k.noun, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		if r, err = k.scan(s.txQueryRow(ctx, tx, k.pollRead, args...)); err != nil {
			return nil, err
		}
		_, err = s.txExec(ctx, tx, k.poll, s.timeArg(now), tenant, hash)
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// redeemRow marks an approved request used at now in one conditional
// UPDATE, so that of concurrent calls exactly one succeeds. ErrNotFound if
// absent, expired or not approved. A request used before comes back with
// ErrAlreadyUsed, even once expired, as RedeemAuthCode does.
func (k pendingTable[T]) redeemRow(ctx context.Context, s *Store, tenant, hash string, now time.Time) (*T, error) {
	op := "redeem " + k.noun
	var r *T
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		r, err = k.scan(s.txQueryRow(ctx, tx, k.redeem, s.timeArg(now), tenant, hash, s.timeArg(now)))
		return nil, err
	})
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, ports.ErrNotFound) {
		return nil, err
	}
	r, err = k.scan(s.queryRow(ctx, k.byHash, tenant, hash))
	if err != nil {
		return nil, translate(op, err)
	}
	st := k.state(r)
	switch {
	case st.usedAt != nil:
		return r, fmt.Errorf("sqlstore: %s: %w", op, ports.ErrAlreadyUsed)
	case !now.Before(st.expiresAt):
		return nil, fmt.Errorf("sqlstore: %s: expired: %w", op, ports.ErrNotFound)
	default:
		return nil, fmt.Errorf("sqlstore: %s: %s: %w", op, st.status, ports.ErrNotFound)
	}
}
