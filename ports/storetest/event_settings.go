package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// hookRecorder is an EventHook function that keeps the ids it heard of.
type hookRecorder struct {
	mu    sync.Mutex
	heard []string
}

func (r *hookRecorder) hear(evs []ports.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.heard = append(r.heard, eventIDs(evs)...)
}

func (r *hookRecorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.heard)
}

// mustHear fails the test unless the hook heard exactly want, in order.
func mustHear(t *testing.T, r *hookRecorder, want ...string) {
	t.Helper()
	if got := r.ids(); !slices.Equal(got, want) {
		t.Fatalf("the hook heard %v, want %v", got, want)
	}
}

// plainEvent is an event whose time is a whole microsecond, so that a
// lease measured from it ends at an instant every store keeps exactly.
func plainEvent(id string, at time.Time) ports.Event {
	return ports.Event{ID: id, Type: ports.EventTokenIssued, Tenant: tenantA, Time: at}
}

// createTokenWith stores one access token with the events evs.
func createTokenWith(t *testing.T, s ports.Store, id string, at time.Time, evs ...ports.Event) error {
	t.Helper()
	return s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, id, ports.TokenAccess, "g-"+id, at)}, evs...)
}

func testEventHook(t *testing.T, open opener) {
	at := baseTime()

	t.Run("the hook hears the events of a change once it is made", func(t *testing.T) {
		s := open(t)
		r := &hookRecorder{}
		s.OnEvents(r.hear)
		mustNil(t, createTokenWith(t, s, "t1", at, plainEvent("with-token", at)), "CreateTokens")
		mustHear(t, r, "with-token")
		getToken(t, s, tenantA, "t1")
	})

	t.Run("the hook hears nothing of a change that failed", func(t *testing.T) {
		s := open(t)
		mustNil(t, createTokenWith(t, s, "t1", at), "CreateTokens")
		r := &hookRecorder{}
		s.OnEvents(r.hear)
		mustIs(t, createTokenWith(t, s, "t1", at, plainEvent("failed", at)), ports.ErrConflict, "CreateTokens with a taken id")
		mustHear(t, r)
	})

	t.Run("the hook does not hear of appended events", func(t *testing.T) {
		s := open(t)
		r := &hookRecorder{}
		s.OnEvents(r.hear)
		mustNil(t, s.AppendEvents(t.Context(), plainEvent("alone", at)), "AppendEvents")
		mustHear(t, r)
	})

	t.Run("a new hook replaces the one before", func(t *testing.T) {
		s := open(t)
		first, second := &hookRecorder{}, &hookRecorder{}
		s.OnEvents(first.hear)
		s.OnEvents(second.hear)
		mustNil(t, createTokenWith(t, s, "t1", at, plainEvent("with-token", at)), "CreateTokens")
		mustHear(t, first)
		mustHear(t, second, "with-token")
	})
}

func testEventDiscarder(t *testing.T, open opener) {
	at := baseTime()

	t.Run("discarded events stay out of the outbox while changes happen and the hook hears them", func(t *testing.T) {
		s := open(t)
		s.DiscardEvents()
		r := &hookRecorder{}
		s.OnEvents(r.hear)
		mustNil(t, createTokenWith(t, s, "t1", at, plainEvent("with-token", at)), "CreateTokens")
		mustNil(t, s.AppendEvents(t.Context(), plainEvent("alone", at)), "AppendEvents")
		getToken(t, s, tenantA, "t1")
		mustClaim(t, s, 10, at.Add(time.Hour))
		mustHear(t, r, "with-token")
	})
}

func testEventLeaser(t *testing.T, open opener) {
	at := baseTime()

	t.Run("events appended leased are passed over until the lease ends, then claimed once", func(t *testing.T) {
		s := open(t)
		s.LeaseOnAppend(eventLease)
		mustNil(t, createTokenWith(t, s, "t1", at, plainEvent("with-token", at)), "CreateTokens")
		mustNil(t, s.AppendEvents(t.Context(), plainEvent("alone", at), plainEvent("acked", at)), "AppendEvents")
		mustClaim(t, s, 10, at.Add(eventLease-time.Microsecond))
		// The process that appended them acknowledges one within the
		// lease: it is never claimed.
		mustNil(t, s.AckEvents(t.Context(), []string{"acked"}), "AckEvents")
		end := at.Add(eventLease)
		mustClaim(t, s, 10, end, "with-token", "alone")
		mustClaim(t, s, 10, end)
	})

	t.Run("with the lease turned off events are claimable at once", func(t *testing.T) {
		s := open(t)
		s.LeaseOnAppend(eventLease)
		s.LeaseOnAppend(0)
		mustNil(t, s.AppendEvents(t.Context(), plainEvent("unleased", at)), "AppendEvents")
		mustClaim(t, s, 10, at, "unleased")
	})
}
