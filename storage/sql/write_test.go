package sqlstore

import (
	"errors"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// TestChangeAndEventsCommitTogether proves the outbox write is part of the
// change's transaction: when the event cannot be stored (its id is taken),
// the change is rolled back with it.
func TestChangeAndEventsCommitTogether(t *testing.T) {
	dialects := []struct {
		name string
		open func(t *testing.T) *Store
	}{
		{"sqlite", func(t *testing.T) *Store { return newSQLiteStore(t, Options{}) }},
		{"postgres", func(t *testing.T) *Store { return newPostgresStore(t, postgresURL(t), Options{}) }},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			migrated(t, s)
			now := time.Now()
			taken := ports.Event{ID: "taken", Type: ports.EventTokenIssued, Time: now}
			if err := s.AppendEvents(t.Context(), taken); err != nil {
				t.Fatal(err)
			}
			var notified []ports.Event
			s.OnEvents(func(evs []ports.Event) { notified = append(notified, evs...) })

			tok := &ports.Token{ID: "t1", Tenant: "a", Kind: ports.TokenAccess, GrantID: "g1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			err := s.CreateTokens(t.Context(), []*ports.Token{tok}, taken)
			if !errors.Is(err, ports.ErrConflict) {
				t.Fatalf("CreateTokens with a taken event id: %v, want ErrConflict", err)
			}
			if _, err := s.GetToken(t.Context(), "a", "t1"); !errors.Is(err, ports.ErrNotFound) {
				t.Fatalf("the token of the failed change was stored: GetToken = %v", err)
			}
			if len(notified) != 0 {
				t.Fatalf("OnEvents was told of %d events of a rolled-back change", len(notified))
			}

			fresh := ports.Event{ID: "fresh", Type: ports.EventTokenIssued, Time: now}
			if err := s.CreateTokens(t.Context(), []*ports.Token{tok}, fresh); err != nil {
				t.Fatal(err)
			}
			if len(notified) != 1 || notified[0].ID != "fresh" {
				t.Fatalf("OnEvents was told of %v, want the committed event", notified)
			}
		})
	}
}
