package memory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ports.Store {
		s := New(Options{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func token(id string) *ports.Token {
	return &ports.Token{ID: id, Tenant: "a", Kind: ports.TokenAccess, GrantID: "g-" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func event(id string) ports.Event {
	return ports.Event{ID: id, Type: ports.EventTokenIssued, Time: now, Data: map[string]string{"token_id": id}}
}

// claimIDs claims every event claimable at at and returns their ids.
func claimIDs(t *testing.T, s *Store, at time.Time) []string {
	t.Helper()
	evs, err := s.ClaimEvents(t.Context(), 100, time.Minute, at)
	if err != nil {
		t.Fatalf("ClaimEvents: %v", err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestChangeAndEventsHappenTogether: when an event of a change cannot be
// stored (its id is taken), the change does not happen either, and the
// OnEvents hook hears only of changes that happened.
func TestChangeAndEventsHappenTogether(t *testing.T) {
	s := New(Options{})
	if err := s.AppendEvents(t.Context(), event("taken")); err != nil {
		t.Fatal(err)
	}
	var notified []string
	s.OnEvents(func(evs []ports.Event) {
		for _, e := range evs {
			notified = append(notified, e.ID)
		}
	})
	if err := s.CreateTokens(t.Context(), []*ports.Token{token("t1")}, event("taken")); !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("CreateTokens with a taken event id = %v, want ErrConflict", err)
	}
	if _, err := s.GetToken(t.Context(), "a", "t1"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("the token of the failed change was stored: GetToken = %v", err)
	}
	if len(notified) != 0 {
		t.Fatalf("OnEvents heard of %v, events of a change that did not happen", notified)
	}
	if err := s.CreateTokens(t.Context(), []*ports.Token{token("t1")}, event("fresh")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(notified, []string{"fresh"}) {
		t.Fatalf("OnEvents heard of %v, want [fresh]", notified)
	}
}

// TestValuesAreCopies: what a caller stores, and what it gets back, is
// its own: changing it later changes nothing in the store.
func TestValuesAreCopies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// run stores a record, changes the caller's values, and reports
		// what the store then holds that it should not.
		run func(t *testing.T, s *Store) string
	}{
		{"a client changed after it was stored", func(t *testing.T, s *Store) string {
			c := &ports.Client{ID: "c1", Tenant: "a", RedirectURIs: []string{"https://rp.example/cb"}, Metadata: []byte(`{}`)}
			if err := s.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			c.RedirectURIs[0], c.Metadata[0] = "https://evil.example/cb", '['
			got, err := s.GetClient(ctx, "a", "c1")
			if err != nil {
				t.Fatal(err)
			}
			if got.RedirectURIs[0] != "https://rp.example/cb" || string(got.Metadata) != `{}` {
				return "the stored client follows the caller's slices"
			}
			return ""
		}},
		{"a client changed after it was read", func(t *testing.T, s *Store) string {
			if err := s.CreateClient(ctx, &ports.Client{ID: "c1", Tenant: "a", GrantTypes: []string{"authorization_code"}}); err != nil {
				t.Fatal(err)
			}
			list, err := s.ListClients(ctx, "a", ports.Page{})
			if err != nil {
				t.Fatal(err)
			}
			list[0].GrantTypes[0], list[0].Name = "client_credentials", "renamed"
			got, err := s.GetClient(ctx, "a", "c1")
			if err != nil {
				t.Fatal(err)
			}
			if got.GrantTypes[0] != "authorization_code" || got.Name != "" {
				return "the stored client follows a listed copy"
			}
			return ""
		}},
		{"a token's times changed after it was read", func(t *testing.T, s *Store) string {
			if err := s.CreateTokens(ctx, []*ports.Token{token("t1")}); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeToken(ctx, "a", "t1", now); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetToken(ctx, "a", "t1")
			if err != nil {
				t.Fatal(err)
			}
			*got.RevokedAt = now.Add(time.Hour)
			again, err := s.GetToken(ctx, "a", "t1")
			if err != nil {
				t.Fatal(err)
			}
			if !again.RevokedAt.Equal(now) {
				return "the stored revocation time follows the caller's pointer"
			}
			return ""
		}},
		{"a signing key changed after it was read", func(t *testing.T, s *Store) string {
			if err := s.CreateKey(ctx, &ports.SigningKey{ID: "k1", Tenant: "a", PrivateKey: []byte("sealed")}); err != nil {
				t.Fatal(err)
			}
			keys, err := s.ListKeys(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			keys[0].PrivateKey[0] = 'X'
			again, err := s.ListKeys(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if string(again[0].PrivateKey) != "sealed" {
				return "the stored private key follows a returned slice"
			}
			return ""
		}},
		{"an event's data changed after it was stored", func(t *testing.T, s *Store) string {
			e := event("e1")
			if err := s.AppendEvents(ctx, e); err != nil {
				t.Fatal(err)
			}
			e.Data["token_id"] = "changed"
			got, err := s.ClaimEvents(ctx, 1, time.Minute, now)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Data["token_id"] != "e1" {
				return "the stored event follows the caller's map"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if problem := tt.run(t, New(Options{})); problem != "" {
				t.Fatal(problem)
			}
		})
	}
}

var errFault = errors.New("connection refused")

// TestFault: the fault hook hears of every call by its method's name and
// its error is the call's answer, with nothing changed; a fault that waits
// for the caller's context makes the call hang until then.
func TestFault(t *testing.T) {
	t.Run("a failing method answers with the fault and changes nothing", func(t *testing.T) {
		var heard []string
		s := New(Options{Fault: func(_ context.Context, method string) error {
			heard = append(heard, method)
			if method == "CreateTokens" {
				return errFault
			}
			return nil
		}})
		if err := s.CreateTokens(t.Context(), []*ports.Token{token("t1")}, event("e1")); !errors.Is(err, errFault) {
			t.Fatalf("CreateTokens = %v, want the fault", err)
		}
		if _, err := s.GetToken(t.Context(), "a", "t1"); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("GetToken after a failed CreateTokens = %v, want ErrNotFound", err)
		}
		if got := claimIDs(t, s, now); len(got) != 0 {
			t.Fatalf("the outbox holds %v after a failed change", got)
		}
		if want := []string{"CreateTokens", "GetToken", "ClaimEvents"}; !slices.Equal(heard, want) {
			t.Fatalf("the fault hook heard %v, want %v", heard, want)
		}
	})
	t.Run("a hanging method returns when the caller's context ends", func(t *testing.T) {
		s := New(Options{Fault: func(ctx context.Context, _ string) error {
			<-ctx.Done()
			return ctx.Err()
		}})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if _, err := s.GetClient(ctx, "a", "c1"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GetClient = %v, want the context's deadline", err)
		}
	})
}

// TestCallsThatCannotProceed: a call whose context has ended, or made
// after Close, fails and changes nothing.
func TestCallsThatCannotProceed(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		close   bool
		wantErr error
	}{
		{name: "the caller's context has ended", ctx: canceled, wantErr: context.Canceled},
		{name: "the store is closed", ctx: context.Background(), close: true, wantErr: errClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			if tt.close {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CreateTokens(tt.ctx, []*ports.Token{token("t1")}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateTokens = %v, want %v", err, tt.wantErr)
			}
			if err := s.Ping(tt.ctx); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Ping = %v, want %v", err, tt.wantErr)
			}
			if got := s.Tokens("a"); len(got) != 0 {
				t.Fatalf("the store holds %d tokens", len(got))
			}
		})
	}
}
