package resilience

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

var (
	now     = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	bgCtx   = context.Background()
	errDown = errors.New("dial tcp 127.0.0.1:5432: connection refused")
)

// storeCalls invokes every method of ports.Store that takes a context, by
// the name the fault hook hears, each on a record the store of newStore
// holds. A method added to ports.Store and missing here fails "every
// method is listed" below.
var storeCalls = []struct {
	name string
	call func(ports.Store) error
}{
	{"Ping", func(s ports.Store) error { return s.Ping(bgCtx) }},
	{"CreateClient", func(s ports.Store) error { return s.CreateClient(bgCtx, &ports.Client{}) }},
	{"GetClient", func(s ports.Store) error { _, err := s.GetClient(bgCtx, "t", "c"); return err }},
	{"UpdateClient", func(s ports.Store) error { return s.UpdateClient(bgCtx, &ports.Client{Tenant: "t", ID: "c"}) }},
	{"DeleteClient", func(s ports.Store) error { return s.DeleteClient(bgCtx, "t", "c") }},
	{"ListClients", func(s ports.Store) error { _, err := s.ListClients(bgCtx, "t", ports.Page{}); return err }},
	{"CreateUser", func(s ports.Store) error { return s.CreateUser(bgCtx, &ports.User{}) }},
	{"GetUser", func(s ports.Store) error { _, err := s.GetUser(bgCtx, "t", "u"); return err }},
	{"GetUserByUsername", func(s ports.Store) error { _, err := s.GetUserByUsername(bgCtx, "t", "u"); return err }},
	{"ListUsers", func(s ports.Store) error { _, err := s.ListUsers(bgCtx, "t", ports.Page{}); return err }},
	{"EndUserSessions", func(s ports.Store) error { _, err := s.EndUserSessions(bgCtx, "t", "u", ""); return err }},
	{"SetUserPassword", func(s ports.Store) error { _, err := s.SetUserPassword(bgCtx, "t", "u", "h", ""); return err }},
	{"DeleteUser", func(s ports.Store) error { _, _, err := s.DeleteUser(bgCtx, "t", "u", now); return err }},
	{"CreateAuthRequest", func(s ports.Store) error { return s.CreateAuthRequest(bgCtx, &ports.AuthRequest{}) }},
	{"GetAuthRequest", func(s ports.Store) error { _, err := s.GetAuthRequest(bgCtx, "t", "r", now); return err }},
	{"ConsumeAuthRequest", func(s ports.Store) error { _, err := s.ConsumeAuthRequest(bgCtx, "t", "r", now); return err }},
	{"DeleteAuthRequest", func(s ports.Store) error { return s.DeleteAuthRequest(bgCtx, "t", "r") }},
	{"CreateAuthCode", func(s ports.Store) error { return s.CreateAuthCode(bgCtx, &ports.AuthorizationCode{}) }},
	{"GetAuthCode", func(s ports.Store) error { _, err := s.GetAuthCode(bgCtx, "t", "h", now); return err }},
	{"RedeemAuthCode", func(s ports.Store) error {
		_, err := s.RedeemAuthCode(bgCtx, "t", "h", now, ports.Redemption{Issued: []*ports.Token{&ports.Token{}}})
		return err
	}},
	{"CreateTokens", func(s ports.Store) error { return s.CreateTokens(bgCtx, []*ports.Token{&ports.Token{}}) }},
	{"GetToken", func(s ports.Store) error { _, err := s.GetToken(bgCtx, "t", "id"); return err }},
	{"RotateRefreshToken", func(s ports.Store) error {
		_, err := s.RotateRefreshToken(bgCtx, "t", "old", now, ports.Rotation{Issued: []*ports.Token{&ports.Token{}}})
		return err
	}},
	{"RevokeToken", func(s ports.Store) error { return s.RevokeToken(bgCtx, "t", "id", now) }},
	{"RevokeGrant", func(s ports.Store) error { return s.RevokeGrant(bgCtx, "t", "g", now) }},
	{"RevokeClientTokens", func(s ports.Store) error { _, err := s.RevokeClientTokens(bgCtx, "t", "c", now); return err }},
	{"SessionClients", func(s ports.Store) error { _, err := s.SessionClients(bgCtx, "t", "s"); return err }},
	{"CreateSession", func(s ports.Store) error { return s.CreateSession(bgCtx, &ports.Session{}) }},
	{"GetSession", func(s ports.Store) error { _, err := s.GetSession(bgCtx, "t", "s", now); return err }},
	{"DeleteSession", func(s ports.Store) error { return s.DeleteSession(bgCtx, "t", "s") }},
	{"CountSessions", func(s ports.Store) error { _, err := s.CountSessions(bgCtx, "t", now); return err }},
	{"SaveConsent", func(s ports.Store) error { return s.SaveConsent(bgCtx, &ports.Consent{}) }},
	{"GetConsent", func(s ports.Store) error { _, err := s.GetConsent(bgCtx, "t", "u", "c"); return err }},
	{"DeleteConsent", func(s ports.Store) error { return s.DeleteConsent(bgCtx, "t", "u", "c") }},
	{"ListConsents", func(s ports.Store) error { _, err := s.ListConsents(bgCtx, "t", "u"); return err }},
	{"RevokeConsent", func(s ports.Store) error { _, err := s.RevokeConsent(bgCtx, "t", "u", "c", now); return err }},
	{"CreateKey", func(s ports.Store) error { return s.CreateKey(bgCtx, &ports.SigningKey{}) }},
	{"UpdateKey", func(s ports.Store) error { return s.UpdateKey(bgCtx, &ports.SigningKey{Tenant: "t", ID: "k"}) }},
	{"ListKeys", func(s ports.Store) error { _, err := s.ListKeys(bgCtx, "t"); return err }},
	{"UseJTI", func(s ports.Store) error { return s.UseJTI(bgCtx, "t", "k", now.Add(time.Minute), now) }},
	{"CreateDeviceCode", func(s ports.Store) error { return s.CreateDeviceCode(bgCtx, &ports.DeviceCode{}) }},
	{"GetDeviceCodeByUserCode", func(s ports.Store) error {
		_, err := s.GetDeviceCodeByUserCode(bgCtx, "t", "ABCD", now)
		return err
	}},
	{"DecideDeviceCode", func(s ports.Store) error {
		return s.DecideDeviceCode(bgCtx, "t", "ABCD", ports.DeviceApproved, "u", "s", now, now, nil)
	}},
	{"PollDeviceCode", func(s ports.Store) error { _, err := s.PollDeviceCode(bgCtx, "t", "h", now); return err }},
	{"RedeemDeviceCode", func(s ports.Store) error { _, err := s.RedeemDeviceCode(bgCtx, "t", "h", now); return err }},
	{"CreateCIBARequest", func(s ports.Store) error { return s.CreateCIBARequest(bgCtx, &ports.CIBARequest{}) }},
	{"GetCIBARequestByDecision", func(s ports.Store) error {
		_, err := s.GetCIBARequestByDecision(bgCtx, "t", "d", now)
		return err
	}},
	{"DecideCIBARequest", func(s ports.Store) error {
		return s.DecideCIBARequest(bgCtx, "t", "d", ports.CIBAApproved, "s", now, now, nil)
	}},
	{"PollCIBARequest", func(s ports.Store) error { _, err := s.PollCIBARequest(bgCtx, "t", "h", now); return err }},
	{"RedeemCIBARequest", func(s ports.Store) error { _, err := s.RedeemCIBARequest(bgCtx, "t", "h", now); return err }},
	{"PurgeExpired", func(s ports.Store) error { _, err := s.PurgeExpired(bgCtx, ports.PurgeTokens, now, 10); return err }},
	{"AppendEvents", func(s ports.Store) error {
		return s.AppendEvents(bgCtx, ports.Event{ID: "e-appended", Type: ports.EventTokenIssued, Time: now})
	}},
	{"ClaimEvents", func(s ports.Store) error { _, err := s.ClaimEvents(bgCtx, 10, time.Minute, now); return err }},
	{"AckEvents", func(s ports.Store) error { return s.AckEvents(bgCtx, []string{"e1"}) }},
}

func TestWrapStore(t *testing.T) {
	t.Run("every method is listed", func(t *testing.T) {
		// ports.Store's calls must all be exercised below.
		want := storeMethodNames()
		var got []string
		for _, c := range storeCalls {
			got = append(got, c.name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("storeCalls covers %v\nports.Store has %v", got, want)
		}
	})

	for _, c := range storeCalls {
		t.Run(c.name+" passes through a closed breaker", func(t *testing.T) {
			store, f := newStore(t)
			s := WrapStore(store, NewBreaker(BreakerSettings{Name: "store"}), time.Second)
			if err := c.call(s); err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := f.called(); !slices.Equal(got, []string{c.name}) {
				t.Fatalf("store saw %v, want [%s]", got, c.name)
			}
		})
		t.Run(c.name+" fails fast on an open breaker without calling the store", func(t *testing.T) {
			store, f := newStore(t)
			b := openBreaker(t)
			// A call that reached the store would block forever: the test
			// only finishes because the breaker refuses it.
			f.set(nil, true)
			s := WrapStore(store, b, 0)
			if err := c.call(s); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if got := f.called(); len(got) != 0 {
				t.Fatalf("store saw %v, want no call", got)
			}
		})
	}

	t.Run("protocol sentinels are answers, not failures", func(t *testing.T) {
		for _, sentinel := range []error{ports.ErrNotFound, ports.ErrConflict, ports.ErrAlreadyUsed} {
			store, f := newStore(t)
			f.set(sentinel, false)
			b := NewBreaker(BreakerSettings{Name: "store", Failures: 1})
			s := WrapStore(store, b, time.Second)
			for range 5 {
				_, err := s.GetClient(bgCtx, "t", "c")
				if !errors.Is(err, sentinel) || errors.Is(err, ErrUnavailable) {
					t.Fatalf("err = %v, want %v unchanged", err, sentinel)
				}
			}
			if b.State() != StateClosed {
				t.Fatalf("after %v the breaker is %v, want closed", sentinel, b.State())
			}
		}
	})

	t.Run("a used code comes back with ErrAlreadyUsed", func(t *testing.T) {
		store, _ := newStore(t)
		if _, err := store.RedeemAuthCode(bgCtx, "t", "h", now, ports.Redemption{}); err != nil {
			t.Fatalf("first redemption: %v", err)
		}
		s := WrapStore(store, NewBreaker(BreakerSettings{Name: "store"}), time.Second)
		code, err := s.RedeemAuthCode(bgCtx, "t", "h", now, ports.Redemption{})
		if !errors.Is(err, ports.ErrAlreadyUsed) {
			t.Fatalf("err = %v, want ErrAlreadyUsed", err)
		}
		if code == nil || code.GrantID != "g1" {
			t.Fatalf("code = %+v, want the stored code so its grant can be revoked", code)
		}
	})

	t.Run("an outage opens the breaker", func(t *testing.T) {
		store, f := newStore(t)
		f.set(errDown, false)
		b := NewBreaker(BreakerSettings{Name: "store", Failures: 3})
		s := WrapStore(store, b, time.Second)
		for i := range 3 {
			_, err := s.GetToken(bgCtx, "t", "id")
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errDown) {
				t.Fatalf("call %d: err = %v, want ErrUnavailable wrapping the cause", i, err)
			}
		}
		if b.State() != StateOpen {
			t.Fatalf("state = %v, want open", b.State())
		}
		if got := len(f.called()); got != 3 {
			t.Fatalf("store saw %d calls, want 3", got)
		}
	})

	t.Run("a hung store is cut off by the per-call deadline", func(t *testing.T) {
		store, f := newStore(t)
		f.set(nil, true)
		b := NewBreaker(BreakerSettings{Name: "store", Failures: 1})
		s := WrapStore(store, b, time.Millisecond)
		_, err := s.GetSession(bgCtx, "t", "s", now)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrUnavailable after the deadline", err)
		}
		if b.State() != StateOpen {
			t.Fatalf("state = %v, want open: a timeout is an outage", b.State())
		}
	})

	t.Run("Close releases the store even when the breaker is open", func(t *testing.T) {
		store, _ := newStore(t)
		s := WrapStore(store, openBreaker(t), time.Second)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := store.Ping(bgCtx); err == nil {
			t.Fatal("store was not closed: it still answers Ping")
		}
	})
}

func TestWrapStoreEventSettings(t *testing.T) {
	ev := func(id string) ports.Event { return ports.Event{ID: id, Type: ports.EventTokenIssued, Time: now} }
	token := []*ports.Token{{Tenant: "t", ID: "fresh", Kind: ports.TokenAccess, GrantID: "g", ExpiresAt: now.Add(time.Hour)}}
	// Each setting is made through a wrapper whose breaker is open; its
	// effect is then seen on the store itself.
	tests := []struct {
		name  string
		set   func(w ports.Store, heard *[]string)
		heard []string // what the hook hears of the change
		claim []string // what the outbox holds afterwards
	}{
		{
			name: "OnEvents reaches the store while the breaker is open",
			set: func(w ports.Store, heard *[]string) {
				w.OnEvents(func(evs []ports.Event) { *heard = append(*heard, evs[0].ID) })
			},
			heard: []string{"with-token"},
			claim: []string{"with-token"},
		},
		{
			name:  "DiscardEvents reaches the store while the breaker is open",
			set:   func(w ports.Store, _ *[]string) { w.DiscardEvents() },
			claim: nil,
		},
		{
			name:  "LeaseOnAppend reaches the store while the breaker is open",
			set:   func(w ports.Store, _ *[]string) { w.LeaseOnAppend(time.Hour) },
			claim: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, f := newStore(t)
			var heard []string
			tt.set(WrapStore(store, openBreaker(t), time.Second), &heard)
			if got := f.called(); len(got) != 0 {
				t.Fatalf("the setting made the calls %v, want none", got)
			}
			if err := store.CreateTokens(bgCtx, token, ev("with-token")); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(heard, tt.heard) {
				t.Fatalf("the hook heard %v, want %v", heard, tt.heard)
			}
			evs, err := store.ClaimEvents(bgCtx, 10, time.Minute, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.ID)
			}
			if !slices.Equal(got, tt.claim) {
				t.Fatalf("the outbox holds %v, want %v", got, tt.claim)
			}
		})
	}
}

// openBreaker returns a breaker that has just tripped and stays open for
// the rest of the test.
func openBreaker(t *testing.T) *Breaker {
	t.Helper()
	b := NewBreaker(BreakerSettings{Name: "store", Failures: 1, OpenFor: time.Hour})
	_ = b.Do(bgCtx, 0, func(context.Context) error { return errDown })
	if b.State() != StateOpen {
		t.Fatalf("state = %v, want open", b.State())
	}
	return b
}
