package mongostore

import (
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
