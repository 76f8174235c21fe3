package mongostore

import (
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/storetest"
	"oauth2-server.dev/storage/mongo/mongotest"
)

// openTestStore opens an unmigrated store on a database of its own.
func openTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), mongotest.URL(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ports.Store {
		s := openTestStore(t, Options{})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	})
}

// TestDiscardEvents: a store told to discard events keeps them out of the
// outbox, stores the change itself, and still tells the OnEvents hook.
func TestDiscardEvents(t *testing.T) {
	s := openTestStore(t, Options{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s.DiscardEvents()
	var notified []ports.Event
	s.OnEvents(func(evs []ports.Event) { notified = append(notified, evs...) })
	now := time.Now()
	tok := &ports.Token{ID: "t1", Tenant: "a", Kind: ports.TokenAccess, GrantID: "g1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateTokens(t.Context(), []*ports.Token{tok}, ports.Event{ID: "with-token", Type: ports.EventTokenIssued, Time: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(t.Context(), ports.Event{ID: "alone", Type: ports.EventTokenIssued, Time: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(t.Context(), "a", "t1"); err != nil {
		t.Fatalf("the change itself was not stored: %v", err)
	}
	if evs, err := s.ClaimEvents(t.Context(), 10, time.Minute, now.Add(time.Hour)); err != nil || len(evs) != 0 {
		t.Fatalf("the outbox holds %d events (%v)", len(evs), err)
	}
	if len(notified) != 1 || notified[0].ID != "with-token" {
		t.Fatalf("OnEvents heard of %v, want the change's event", notified)
	}
}

// TestLeaseOnAppend: events appended under a lease are passed over by
// claims until it ends, then claimed as any other, once; events the owner
// acknowledged within the lease are never claimed.
func TestLeaseOnAppend(t *testing.T) {
	s := openTestStore(t, Options{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s.LeaseOnAppend(time.Minute)
	now := time.Now().Truncate(time.Millisecond)
	ev := func(id string) ports.Event { return ports.Event{ID: id, Type: ports.EventTokenIssued, Time: now} }
	claim := func(t *testing.T, at time.Time) []string {
		t.Helper()
		evs, err := s.ClaimEvents(t.Context(), 10, time.Minute, at)
		if err != nil {
			t.Fatalf("ClaimEvents: %v", err)
		}
		var ids []string
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
		return ids
	}
	tok := &ports.Token{ID: "t1", Tenant: "a", Kind: ports.TokenAccess, GrantID: "g1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateTokens(t.Context(), []*ports.Token{tok}, ev("with-token")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(t.Context(), ev("alone"), ev("acked")); err != nil {
		t.Fatal(err)
	}

	t.Run("a claim within the lease takes none", func(t *testing.T) {
		if got := claim(t, now.Add(30*time.Second)); len(got) != 0 {
			t.Fatalf("claim took %v", got)
		}
	})
	if err := s.AckEvents(t.Context(), []string{"acked"}); err != nil {
		t.Fatal(err)
	}
	t.Run("after the lease a claim takes the events not acknowledged, once", func(t *testing.T) {
		at := now.Add(61 * time.Second)
		if got := claim(t, at); !slices.Equal(got, []string{"with-token", "alone"}) {
			t.Fatalf("claim took %v, want with-token and alone", got)
		}
		if got := claim(t, at); len(got) != 0 {
			t.Fatalf("a second claim under the first one's lease took %v", got)
		}
	})
	t.Run("with the lease turned off events are claimable at once", func(t *testing.T) {
		s.LeaseOnAppend(0)
		if err := s.AppendEvents(t.Context(), ev("unleased")); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, now.Add(62*time.Second)); !slices.Equal(got, []string{"unleased"}) {
			t.Fatalf("claim took %v, want unleased", got)
		}
	})
}
