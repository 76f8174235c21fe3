package mongostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"oauth2-server.dev/ports"
)

// The outbox, the commit hook and the append modes are the store's
// ports.EventStore.
var _ ports.EventStore = (*Store)(nil)

// eventDoc is one undelivered event, never changed once inserted. Its _id
// is minted at append, so sorting by _id gives append order: exactly so
// for events one process appended, to the second across processes.
type eventDoc struct {
	ID      bson.ObjectID `bson:"_id"`
	EventID string        `bson:"id"`
	Tenant  string        `bson:"tenant"`
	Type    string        `bson:"type"`
	Time    int64         `bson:"time"`
	Event   string        `bson:"event"` // the ports.Event in its JSON wire format
	// LeaseUntil is the lease the event was appended under
	// (LeaseOnAppend), if any: claims pass the event over until then, and
	// lease it in eventLeases, as any other, after.
	LeaseUntil int64 `bson:"lease_until,omitempty"`
}

// eventLeaseDoc is a relay's lease on one event, in a collection unique on
// the event id: at most one lease per event exists at any moment.
type eventLeaseDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	EventID    string        `bson:"id"`
	LeaseUntil int64         `bson:"lease_until"`
}

// leaseAttempts bounds how often leaseEvent goes round insert, read and
// delete. Each round that does not decide means another relay took or
// dropped the lease in between, so that relay has the event.
const leaseAttempts = 4

// ackBatch caps the ids one delete names.
const ackBatch = 1000

// claimScanBatch is the fewest events ClaimEvents reads at a time, so that
// a small claim behind many leased events still walks in few round trips.
const claimScanBatch = 64

// withEvents runs change and, once it succeeded, appends evs to the
// outbox. Without transactions the two are separate writes: events are
// validated before the change so that a bad event never follows a
// change, and if the append fails the call fails, which callers treat
// like a failed change (every change here is safe to retry). A crash
// between the two writes loses the events of that one change.
func (s *Store) withEvents(ctx context.Context, op string, evs []ports.Event, change func() error) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("mongostore: %s: %w", op, err)
	}
	if err := change(); err != nil {
		return err
	}
	return s.storeEvents(ctx, op, evs)
}

// spendWithEvents runs spend, a code redemption or a refresh rotation, and
// stores events when it succeeds, or replayEvents when it comes back with
// ErrAlreadyUsed, having revoked the grant of a credential used twice.
func spendWithEvents[T any](s *Store, ctx context.Context, op string, events, replayEvents []ports.Event, spend func() (T, error)) (T, error) {
	var zero T
	if err := checkEvents(slices.Concat(events, replayEvents)); err != nil {
		return zero, fmt.Errorf("mongostore: %s: %w", op, err)
	}
	spent, err := spend()
	switch {
	case err == nil:
		if err := s.storeEvents(ctx, op, events); err != nil {
			return zero, err
		}
	case errors.Is(err, ports.ErrAlreadyUsed):
		if err := s.storeEvents(ctx, op, replayEvents); err != nil {
			return zero, err
		}
	}
	return spent, err
}

// storeEvents appends the events of a change that succeeded and tells the
// OnEvents hook.
func (s *Store) storeEvents(ctx context.Context, op string, evs []ports.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if !s.discardEvents.Load() {
		if err := s.appendEvents(ctx, op, evs); err != nil {
			return err
		}
	}
	if f := s.onEvents.Load(); f != nil {
		(*f)(evs)
	}
	return nil
}

// OnEvents registers f to be called with the events of every change that
// stored some, once they are in the outbox, so that a relay can deliver
// them at once instead of at its next poll. f must not block or keep the
// slice.
func (s *Store) OnEvents(f func([]ports.Event)) { s.onEvents.Store(&f) }

// LeaseOnAppend makes the store append events leased for lease from
// their own time, as ClaimEvents would lease them, so that claims pass
// them over until then. It is for a process whose relay takes the events
// of its own commits from the OnEvents hook (events.Relay.Hand) rather than
// claiming them: should that relay fail to deliver them, or the process
// stop first, the lease ends and any relay claims them. The lease is a
// field of the event's own document, written with it: appending costs no
// more, and only the owning process, which never changes it, sets it.
// Zero turns it off.
func (s *Store) LeaseOnAppend(lease time.Duration) { s.appendLease.Store(int64(max(lease, 0))) }

// DiscardEvents makes changes store no events, for a server with no event
// sinks, whose outbox nothing would ever empty. Changes still report their
// events to the OnEvents hook, which counts them.
func (s *Store) DiscardEvents() { s.discardEvents.Store(true) }

// checkEvents validates events before the change they describe; the
// outbox then stores them unchecked.
func checkEvents(evs []ports.Event) error { return ports.ValidateEvents(evs) }

// AppendEvents stores events for delivery, all or none. ErrConflict if an
// event id exists; ErrInvalidEvent (wrapped) if an event lacks an ID or a
// Type. Without a transaction the batch is made all-or-nothing by hand:
// on failure the documents already inserted are deleted again.
func (s *Store) AppendEvents(ctx context.Context, events ...ports.Event) error {
	if err := checkEvents(events); err != nil {
		return fmt.Errorf("mongostore: append events: %w", err)
	}
	if s.discardEvents.Load() {
		return nil
	}
	return s.appendEvents(ctx, "append events", events)
}

func (s *Store) appendEvents(ctx context.Context, op string, events []ports.Event) error {
	if len(events) == 0 {
		return nil
	}
	docs := make([]any, len(events))
	ids := make([]bson.ObjectID, len(events))
	lease := time.Duration(s.appendLease.Load())
	for i, e := range events {
		// Stored times read back in UTC, as every other time of the store.
		e.Time = e.Time.UTC()
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("mongostore: %s: event %q: %w", op, e.ID, err)
		}
		ids[i] = bson.NewObjectID()
		d := &eventDoc{ID: ids[i], EventID: e.ID, Tenant: e.Tenant, Type: e.Type, Time: micros(e.Time), Event: string(body)}
		if lease > 0 {
			d.LeaseUntil = micros(e.Time.Add(lease))
		}
		docs[i] = d
	}
	if _, err := s.eventOutbox.InsertMany(ctx, docs); err != nil {
		if cerr := deleteIDs(ctx, s.eventOutbox, ids); cerr != nil {
			return fmt.Errorf("%w (and removing the events inserted: %v)", translate(op, err), cerr)
		}
		return translate(op, err)
	}
	return nil
}

// ClaimEvents leases up to limit undelivered events until now+lease and
// returns them oldest first. It walks the outbox in append order, past
// events appended under a lease that has not ended (LeaseOnAppend), and
// leases each event no unexpired lease holds with leaseEvent, whose insert
// into a unique index decides between concurrent relays even where
// updates are not atomic. Events lost to another relay are passed over
// and the walk goes on, so fewer than limit come back only when no more
// are free.
func (s *Store) ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]ports.Event, error) {
	const op = "claim events"
	if limit < 1 {
		return nil, fmt.Errorf("mongostore: %s: limit %d is not positive", op, limit)
	}
	var (
		won    []eventDoc
		leases []bson.ObjectID // leases[i] holds won[i]
		after  bson.ObjectID   // the zero ObjectID sorts before every other
	)
	for len(won) < limit {
		batchSize := max(limit-len(won), claimScanBatch)
		cur, err := s.eventOutbox.Find(ctx, bson.D{
			{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}},
			{Key: "$or", Value: bson.A{
				bson.D{{Key: "lease_until", Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "lease_until", Value: bson.D{{Key: "$lte", Value: micros(now)}}}},
			}},
		}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(batchSize)))
		if err != nil {
			return nil, translate(op, err)
		}
		var batch []eventDoc
		if err := cur.All(ctx, &batch); err != nil {
			return nil, translate(op, err)
		}
		if len(batch) == 0 {
			break
		}
		held, err := s.heldEvents(ctx, batch, now)
		if err != nil {
			return nil, translate(op, err)
		}
		for _, d := range batch {
			if len(won) == limit {
				break
			}
			if held[d.EventID] {
				continue
			}
			leaseID, ok, err := s.leaseEvent(ctx, d.EventID, now.Add(lease), now)
			if err != nil {
				return nil, translate(op, err)
			}
			if ok {
				won = append(won, d)
				leases = append(leases, leaseID)
			}
		}
		if len(batch) < batchSize {
			break
		}
		after = batch[len(batch)-1].ID
	}
	won, err := s.dropAcked(ctx, won, leases)
	if err != nil {
		return nil, translate(op, err)
	}
	events := make([]ports.Event, len(won))
	for i, d := range won {
		if err := json.Unmarshal([]byte(d.Event), &events[i]); err != nil {
			return nil, fmt.Errorf("mongostore: %s: corrupt event %q: %w", op, d.EventID, err)
		}
	}
	return events, nil
}

// heldEvents returns the ids of the events in batch under a lease that
// has not ended at now. It only spares leaseEvent attempts that would
// fail; leaseEvent decides.
func (s *Store) heldEvents(ctx context.Context, batch []eventDoc, now time.Time) (map[string]bool, error) {
	ids := make([]string, len(batch))
	for i, d := range batch {
		ids[i] = d.EventID
	}
	cur, err := s.eventLeases.Find(ctx, bson.D{
		{Key: "id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "lease_until", Value: bson.D{{Key: "$gt", Value: micros(now)}}},
	})
	if err != nil {
		return nil, err
	}
	var leases []eventLeaseDoc
	if err := cur.All(ctx, &leases); err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(leases))
	for _, l := range leases {
		held[l.EventID] = true
	}
	return held, nil
}

// leaseEvent leases event id until until and reports whether it did,
// returning the lease's _id; false, without error, when another relay
// holds an unexpired lease or took it meanwhile. It is UseJTI's scheme:
// the insert into the unique index decides, and an expired lease in the
// way is deleted by its _id, which removes that lease and never one a
// concurrent relay inserted in its place, before the insert is tried
// again.
func (s *Store) leaseEvent(ctx context.Context, id string, until, now time.Time) (bson.ObjectID, bool, error) {
	for range leaseAttempts {
		l := &eventLeaseDoc{ID: bson.NewObjectID(), EventID: id, LeaseUntil: micros(until)}
		_, err := s.eventLeases.InsertOne(ctx, l)
		if err == nil {
			return l.ID, true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return bson.ObjectID{}, false, err
		}
		var cur eventLeaseDoc
		err = s.eventLeases.FindOne(ctx, bson.D{{Key: "id", Value: id}}).Decode(&cur)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // dropped since the insert failed
		case err != nil:
			return bson.ObjectID{}, false, err
		case cur.LeaseUntil > micros(now):
			return bson.ObjectID{}, false, nil
		}
		if _, err := s.eventLeases.DeleteOne(ctx, bson.D{{Key: "_id", Value: cur.ID}}); err != nil {
			return bson.ObjectID{}, false, err
		}
	}
	return bson.ObjectID{}, false, nil
}

// dropAcked removes from won the events acknowledged while they were
// being leased, and deletes their leases. AckEvents deletes events before
// their leases, so a lease this check finds an event for is deleted by
// that ack, and a lease it finds none for is deleted here: a race between
// claim and ack leaves no lease behind.
func (s *Store) dropAcked(ctx context.Context, won []eventDoc, leases []bson.ObjectID) ([]eventDoc, error) {
	if len(won) == 0 {
		return won, nil
	}
	ids := make([]bson.ObjectID, len(won))
	for i, d := range won {
		ids[i] = d.ID
	}
	cur, err := s.eventOutbox.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var present []struct {
		ID bson.ObjectID `bson:"_id"`
	}
	if err := cur.All(ctx, &present); err != nil {
		return nil, err
	}
	if len(present) == len(won) {
		return won, nil
	}
	live := make(map[bson.ObjectID]bool, len(present))
	for _, p := range present {
		live[p.ID] = true
	}
	var gone []bson.ObjectID
	kept := won[:0:0]
	for i, d := range won {
		if live[d.ID] {
			kept = append(kept, d)
		} else {
			gone = append(gone, leases[i])
		}
	}
	return kept, deleteIDs(ctx, s.eventLeases, gone)
}

// AckEvents deletes the events, then their leases, which keeps both
// collections as small as the backlog. Unknown and repeated ids are
// ignored.
func (s *Store) AckEvents(ctx context.Context, ids []string) error {
	const op = "ack events"
	for batch := range slices.Chunk(ids, ackBatch) {
		filter := bson.D{{Key: "id", Value: bson.D{{Key: "$in", Value: batch}}}}
		if _, err := s.eventOutbox.DeleteMany(ctx, filter); err != nil {
			return translate(op, err)
		}
		if _, err := s.eventLeases.DeleteMany(ctx, filter); err != nil {
			return translate(op, err)
		}
	}
	return nil
}
