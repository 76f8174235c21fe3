package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

const eventLease = time.Minute

// newEvent returns an event with every field set. Its time carries
// nanoseconds: the event is a wire format, so it comes back exactly.
func newEvent(id string, at time.Time) ports.Event {
	return ports.Event{
		ID: id, Time: at.Add(789 * time.Nanosecond), Type: ports.EventTokenIssued, Tenant: tenantA,
		Subject: "user-1", ClientID: "client-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Data: map[string]string{"grant_type": "authorization_code", "token_id": "tok-" + id},
	}
}

func newEvents(prefix string, n int, at time.Time) []ports.Event {
	out := make([]ports.Event, n)
	for i := range out {
		out[i] = newEvent(fmt.Sprintf("%s%02d", prefix, i), at)
	}
	return out
}

func eventIDs(events []ports.Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// mustClaim claims and checks that exactly the events with ids want came
// back, in that order.
func mustClaim(t *testing.T, o ports.Outbox, limit int, now time.Time, want ...string) []ports.Event {
	t.Helper()
	got, err := o.ClaimEvents(t.Context(), limit, eventLease, now)
	mustNil(t, err, "ClaimEvents")
	if ids := eventIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("ClaimEvents(limit %d) at %v = %v, want %v", limit, now, ids, want)
	}
	return got
}

func testEvents(t *testing.T, open opener) {
	t.Run("appended events are claimed oldest first with every field intact", func(t *testing.T) {
		o := open(t)
		at := baseTime()
		first := newEvent("e1", at.Add(time.Hour)) // a later Time does not reorder: append order does
		second, third := newEvent("e2", at), newEvent("e3", at)
		second.Tenant, second.Type = tenantB, ports.EventClientRegistered
		third.Subject, third.ClientID, third.TraceID, third.Data = "", "", "", nil
		mustNil(t, o.AppendEvents(t.Context(), first), "AppendEvents")
		mustNil(t, o.AppendEvents(t.Context(), second, third), "AppendEvents")
		got := mustClaim(t, o, 10, at, "e1", "e2", "e3")
		for i, want := range []ports.Event{first, second, third} {
			checkEqual(t, want, got[i])
		}
	})

	t.Run("a claimed event is not claimed again within its lease and comes back once it ends", func(t *testing.T) {
		o := open(t)
		at := baseTime()
		mustNil(t, o.AppendEvents(t.Context(), newEvents("e", 3, at)...), "AppendEvents")
		mustClaim(t, o, 2, at, "e00", "e01")
		mustClaim(t, o, 10, at.Add(eventLease-time.Microsecond), "e02")
		mustClaim(t, o, 10, at.Add(eventLease), "e00", "e01")
		mustClaim(t, o, 10, at.Add(2*eventLease-2*time.Microsecond))
		mustClaim(t, o, 10, at.Add(2*eventLease-time.Microsecond), "e02")
	})

	t.Run("claims respect the limit and an empty outbox claims nothing", func(t *testing.T) {
		o := open(t)
		at := baseTime()
		mustClaim(t, o, 5, at)
		mustNil(t, o.AppendEvents(t.Context(), newEvents("e", 5, at)...), "AppendEvents")
		mustClaim(t, o, 2, at, "e00", "e01")
		mustClaim(t, o, 2, at, "e02", "e03")
		mustClaim(t, o, 2, at, "e04")
		mustClaim(t, o, 2, at)
		for _, limit := range []int{0, -1} {
			if _, err := o.ClaimEvents(t.Context(), limit, eventLease, at); err == nil {
				t.Errorf("ClaimEvents(limit %d) succeeded", limit)
			}
		}
	})

	t.Run("an acknowledged event never comes back", func(t *testing.T) {
		o := open(t)
		at := baseTime()
		mustNil(t, o.AppendEvents(t.Context(), newEvents("e", 4, at)...), "AppendEvents")
		mustClaim(t, o, 10, at, "e00", "e01", "e02", "e03")
		mustNil(t, o.AckEvents(t.Context(), []string{"e01", "e03"}), "AckEvents")
		mustClaim(t, o, 10, at.Add(eventLease), "e00", "e02")
		mustNil(t, o.AckEvents(t.Context(), []string{"e00", "e02"}), "AckEvents")
		mustClaim(t, o, 10, at.Add(10*eventLease))
	})

	t.Run("acknowledging unknown, repeated or no ids is not an error", func(t *testing.T) {
		o := open(t)
		at := baseTime()
		mustNil(t, o.AppendEvents(t.Context(), newEvents("e", 2, at)...), "AppendEvents")
		mustClaim(t, o, 10, at, "e00", "e01")
		mustNil(t, o.AckEvents(t.Context(), nil), "AckEvents(nil)")
		mustNil(t, o.AckEvents(t.Context(), []string{"e00", "e00", "unknown"}), "AckEvents")
		mustNil(t, o.AckEvents(t.Context(), []string{"e00"}), "AckEvents again")
		mustClaim(t, o, 10, at.Add(eventLease), "e01")
	})

	t.Run("appending refuses a batch with a taken id or an invalid event, all or none", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name    string
			events  []ports.Event
			wantErr error
		}{
			{"an id waiting in the outbox", []ports.Event{newEvent("fresh", at), newEvent("e01", at)}, ports.ErrConflict},
			{"an id under a lease", []ports.Event{newEvent("fresh", at), newEvent("e00", at)}, ports.ErrConflict},
			{"one id twice in a batch", []ports.Event{newEvent("fresh", at), newEvent("fresh", at)}, ports.ErrConflict},
			{"an event without id", []ports.Event{newEvent("fresh", at), {Type: ports.EventTokenIssued}}, ports.ErrInvalidEvent},
			{"an event without type", []ports.Event{newEvent("fresh", at), {ID: "typeless"}}, ports.ErrInvalidEvent},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				o := open(t)
				mustNil(t, o.AppendEvents(t.Context(), newEvents("e", 2, at)...), "AppendEvents")
				mustClaim(t, o, 1, at, "e00")
				mustIs(t, o.AppendEvents(t.Context(), tt.events...), tt.wantErr, "AppendEvents")
				mustClaim(t, o, 10, at.Add(eventLease), "e00", "e01")
			})
		}
	})

	t.Run(fmt.Sprintf("%d concurrent claimers never lease one event twice", outboxClaimers), func(t *testing.T) {
		o := open(t)
		at := baseTime()
		const n = 50
		mustNil(t, o.AppendEvents(t.Context(), newEvents("e", n, at)...), "AppendEvents")
		for round := range rounds {
			// Every round starts as the leases of the one before end, so
			// later rounds race to take over expired leases.
			now := at.Add(time.Duration(round) * eventLease)
			claimed := raceClaims(t, o, now)
			slices.Sort(claimed)
			want := eventIDs(newEvents("e", n, at))
			if !slices.Equal(claimed, want) {
				t.Fatalf("round %d: claimers got %d events %v, want each of %d exactly once", round, len(claimed), claimed, n)
			}
			mustClaim(t, o, n, now)
		}
		mustNil(t, o.AckEvents(t.Context(), eventIDs(newEvents("e", n, at))), "AckEvents")
		mustClaim(t, o, n, at.Add(rounds*eventLease))
	})
}

// outboxClaimers is how many relays claim from one outbox at once.
const outboxClaimers = 10

// raceClaims runs outboxClaimers goroutines that each claim small batches
// at now until a claim comes back empty, and returns the ids of every
// event handed out, once per time it was.
func raceClaims(t *testing.T, o ports.Outbox, now time.Time) []string {
	t.Helper()
	var (
		mu      sync.Mutex
		claimed []string
		wg      sync.WaitGroup
	)
	errs := make([]error, outboxClaimers)
	start := make(chan struct{})
	for i := range outboxClaimers {
		wg.Go(func() {
			<-start
			for {
				got, err := o.ClaimEvents(t.Context(), 3, eventLease, now)
				if err != nil {
					errs[i] = err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				claimed = append(claimed, eventIDs(got)...)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("claimer %d: ClaimEvents: %v", i, err)
		}
	}
	return claimed
}
