package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// claimAll returns the ids of every event in the outbox, in append order.
func claimAll(t *testing.T, o ports.Outbox, now time.Time) []string {
	t.Helper()
	got, err := o.ClaimEvents(t.Context(), 1000, eventLease, now)
	mustNil(t, err, "ClaimEvents")
	return eventIDs(got)
}

func testChangeEvents(t *testing.T, open opener) {
	at := baseTime()
	ev := func(id string) ports.Event { return newEvent(id, at) }

	// Each write method that takes events, called so that its change
	// happens: its events must be in the outbox afterwards.
	changes := []struct {
		name string
		run  func(s ports.Store, e ports.Event) error
	}{
		{"CreateClient", func(s ports.Store, e ports.Event) error {
			return s.CreateClient(t.Context(), newClient(tenantA, "c1", at), e)
		}},
		{"UpdateClient", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "c1", at)), "CreateClient")
			return s.UpdateClient(t.Context(), newClient(tenantA, "c1", at.Add(time.Second)), e)
		}},
		{"DeleteClient", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "c1", at)), "CreateClient")
			return s.DeleteClient(t.Context(), tenantA, "c1", e)
		}},
		{"CreateAuthCode", func(s ports.Store, e ports.Event) error {
			return s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at), e)
		}},
		{"RedeemAuthCode", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
			_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{
				Issued: issued(tenantA, "n1", "grant-h1", "", at), Events: []ports.Event{e},
			})
			return err
		}},
		{"CreateTokens", func(s ports.Store, e ports.Event) error {
			return s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", at)}, e)
		}},
		{"RotateRefreshToken", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "r0", ports.TokenRefresh, "g1", at)}), "CreateTokens")
			_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", at, ports.Rotation{
				Issued: issued(tenantA, "n1", "g1", "r0", at), Events: []ports.Event{e},
			})
			return err
		}},
		{"RevokeToken", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", at)}), "CreateTokens")
			return s.RevokeToken(t.Context(), tenantA, "t1", at, e)
		}},
		{"RevokeGrant", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", at)}), "CreateTokens")
			return s.RevokeGrant(t.Context(), tenantA, "g1", at, e)
		}},
		{"CreateSession", func(s ports.Store, e ports.Event) error {
			return s.CreateSession(t.Context(), newSession(tenantA, "s1", at), e)
		}},
		{"DeleteSession", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateSession(t.Context(), newSession(tenantA, "s1", at)), "CreateSession")
			return s.DeleteSession(t.Context(), tenantA, "s1", e)
		}},
		{"SaveConsent", func(s ports.Store, e ports.Event) error {
			return s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", at), e)
		}},
		{"DeleteConsent", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", at)), "SaveConsent")
			return s.DeleteConsent(t.Context(), tenantA, "u1", "c1", e)
		}},
		{"DeleteUser", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateUser(t.Context(), newUser(tenantA, "u1", "ada", at)), "CreateUser")
			_, _, err := s.DeleteUser(t.Context(), tenantA, "u1", at, e)
			return err
		}},
		{"EndUserSessions", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateSession(t.Context(), newSession(tenantA, "s1", at)), "CreateSession")
			_, err := s.EndUserSessions(t.Context(), tenantA, "user-s1", "", e)
			return err
		}},
		{"SetUserPassword", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateUser(t.Context(), newUser(tenantA, "u1", "ada", at)), "CreateUser")
			_, err := s.SetUserPassword(t.Context(), tenantA, "u1", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$new", "", e)
			return err
		}},
		{"RevokeConsent", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.SaveConsent(t.Context(), newConsent(tenantA, "u1", "c1", "openid", at)), "SaveConsent")
			_, err := s.RevokeConsent(t.Context(), tenantA, "u1", "c1", at, e)
			return err
		}},
		{"CreateKey", func(s ports.Store, e ports.Event) error {
			return s.CreateKey(t.Context(), newKey(tenantA, "k1", at), e)
		}},
		{"DecideDeviceCode", func(s ports.Store, e ports.Event) error {
			d := newDeviceCode(tenantA, "d1", "BCDFGHJK", at)
			mustNil(t, s.CreateDeviceCode(t.Context(), d), "CreateDeviceCode")
			return s.DecideDeviceCode(t.Context(), tenantA, d.UserCode, ports.DeviceApproved, "u1", "s1", at, at, nil, e)
		}},
		{"CreateCIBARequest", func(s ports.Store, e ports.Event) error {
			return s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at), e)
		}},
		{"DecideCIBARequest", func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
			return s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s1", at, at, nil, e)
		}},
	}
	for _, c := range changes {
		t.Run(c.name+" stores its events with the change", func(t *testing.T) {
			s := open(t)
			mustNil(t, c.run(s, ev("e-"+c.name)), c.name)
			if got := claimAll(t, s, at); len(got) != 1 || got[0] != "e-"+c.name {
				t.Fatalf("outbox holds %v, want [e-%s]", got, c.name)
			}
		})
	}

	// Calls whose change does not happen: none of their events may reach
	// the outbox.
	failures := []struct {
		name string
		want error
		run  func(s ports.Store, e ports.Event) error
	}{
		{"CreateTokens with a taken id", ports.ErrConflict, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", at)}), "CreateTokens")
			return s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", at)}, e)
		}},
		{"CreateClient with a taken id", ports.ErrConflict, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "c1", at)), "CreateClient")
			return s.CreateClient(t.Context(), newClient(tenantA, "c1", at), e)
		}},
		{"UpdateClient of an absent client", ports.ErrNotFound, func(s ports.Store, e ports.Event) error {
			return s.UpdateClient(t.Context(), newClient(tenantA, "nobody", at), e)
		}},
		{"DeleteClient of an absent client", ports.ErrNotFound, func(s ports.Store, e ports.Event) error {
			return s.DeleteClient(t.Context(), tenantA, "nobody", e)
		}},
		{"RedeemAuthCode of a used code", ports.ErrAlreadyUsed, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
			_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{})
			mustNil(t, err, "RedeemAuthCode")
			_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{Events: []ports.Event{e}})
			return err
		}},
		{"RedeemAuthCode of an expired code", ports.ErrNotFound, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
			_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at.Add(time.Hour), ports.Redemption{
				Events: []ports.Event{e}, ReplayEvents: []ports.Event{e},
			})
			return err
		}},
		{"RotateRefreshToken of an absent token", ports.ErrNotFound, func(s ports.Store, e ports.Event) error {
			_, err := s.RotateRefreshToken(t.Context(), tenantA, "nothing", at, ports.Rotation{
				Issued: issued(tenantA, "n1", "g1", "nothing", at), Events: []ports.Event{e}, ReplayEvents: []ports.Event{e},
			})
			return err
		}},
		{"DecideDeviceCode of a decided code", ports.ErrAlreadyUsed, func(s ports.Store, e ports.Event) error {
			d := newDeviceCode(tenantA, "d1", "BCDFGHJK", at)
			mustNil(t, s.CreateDeviceCode(t.Context(), d), "CreateDeviceCode")
			mustNil(t, s.DecideDeviceCode(t.Context(), tenantA, d.UserCode, ports.DeviceDenied, "u1", "s1", at, at, nil), "DecideDeviceCode")
			return s.DecideDeviceCode(t.Context(), tenantA, d.UserCode, ports.DeviceApproved, "u1", "s1", at, at, nil, e)
		}},
		{"CreateCIBARequest with a taken hash", ports.ErrConflict, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
			return s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d2", at), e)
		}},
		{"DecideCIBARequest of a decided request", ports.ErrAlreadyUsed, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
			mustNil(t, s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBADenied, "s1", at, at, nil), "DecideCIBARequest")
			return s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s1", at, at, nil, e)
		}},
		{"DecideCIBARequest of an expired request", ports.ErrNotFound, func(s ports.Store, e ports.Event) error {
			mustNil(t, s.CreateCIBARequest(t.Context(), newCIBARequest(tenantA, "h1", "d1", at)), "CreateCIBARequest")
			return s.DecideCIBARequest(t.Context(), tenantA, "d1", ports.CIBAApproved, "s1", at, at.Add(time.Hour), nil, e)
		}},
	}
	for _, f := range failures {
		t.Run(f.name+" stores none of its events", func(t *testing.T) {
			s := open(t)
			mustIs(t, f.run(s, ev("e-failed")), f.want, f.name)
			if got := claimAll(t, s, at); len(got) != 0 {
				t.Fatalf("outbox holds %v after a failed change, want nothing", got)
			}
		})
	}

	t.Run("a replayed refresh token stores the replay events, not the rotation's", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "r0", ports.TokenRefresh, "g1", at)}), "CreateTokens")
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", at, ports.Rotation{
			Issued: issued(tenantA, "n1", "g1", "r0", at), Events: []ports.Event{ev("rotated-1")}, ReplayEvents: []ports.Event{ev("replay-1")},
		})
		mustNil(t, err, "RotateRefreshToken")
		_, err = s.RotateRefreshToken(t.Context(), tenantA, "r0", at, ports.Rotation{
			Issued: issued(tenantA, "n2", "g1", "r0", at), Events: []ports.Event{ev("rotated-2")}, ReplayEvents: []ports.Event{ev("replay-2")},
		})
		mustIs(t, err, ports.ErrAlreadyUsed, "RotateRefreshToken of a rotated token")
		if got := claimAll(t, s, at); len(got) != 2 || got[0] != "rotated-1" || got[1] != "replay-2" {
			t.Fatalf("outbox holds %v, want [rotated-1 replay-2]", got)
		}
	})

	t.Run("a replayed code stores the replay events, not the redemption's", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{
			Issued: issued(tenantA, "n1", "grant-h1", "", at), Events: []ports.Event{ev("redeemed-1")}, ReplayEvents: []ports.Event{ev("replay-1")},
		})
		mustNil(t, err, "RedeemAuthCode")
		_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{
			Issued: issued(tenantA, "n2", "grant-h1", "", at), Events: []ports.Event{ev("redeemed-2")}, ReplayEvents: []ports.Event{ev("replay-2")},
		})
		mustIs(t, err, ports.ErrAlreadyUsed, "RedeemAuthCode of a used code")
		if got := claimAll(t, s, at); len(got) != 2 || got[0] != "redeemed-1" || got[1] != "replay-2" {
			t.Fatalf("outbox holds %v, want [redeemed-1 replay-2]", got)
		}
	})

	t.Run("an invalid event fails the call before its change", func(t *testing.T) {
		s := open(t)
		err := s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", at)}, ports.Event{ID: "no-type"})
		mustIs(t, err, ports.ErrInvalidEvent, "CreateTokens with an invalid event")
		mustNotExist(t, s, tenantA, "t1")
	})
}
