package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newSession(tenant, id string, at time.Time) *ports.Session {
	return &ports.Session{
		ID:        id,
		Tenant:    tenant,
		UserID:    "user-" + id,
		AuthTime:  at.Add(-time.Minute),
		CreatedAt: at,
		ExpiresAt: at.Add(24 * time.Hour),
	}
}

var sessions = keyedKind[ports.Session]{
	kind: "Session", noun: "session", id: "s1", otherID: "s2",
	newRec:    newSession,
	expiry:    func(r *ports.Session) time.Time { return r.ExpiresAt },
	tellApart: func(r *ports.Session) { r.UserID = "someone in b" },
	create:    func(s ports.Store, ctx context.Context, r *ports.Session) error { return s.CreateSession(ctx, r) },
	get:       ports.Store.GetSession,
	del: func(s ports.Store, ctx context.Context, tenant, id string) error {
		return s.DeleteSession(ctx, tenant, id)
	},
}

func testSessions(t *testing.T, open opener) {
	t.Run("ending a user's sessions keeps the one named and everybody else's", func(t *testing.T) {
		s := open(t)
		checkEndsUserSessions(t, s, func(keep string) ([]string, error) {
			return s.EndUserSessions(t.Context(), tenantA, "u1", keep)
		})
		ended, err := s.EndUserSessions(t.Context(), tenantA, "nobody", "")
		mustNil(t, err, "EndUserSessions of a user without sessions")
		if len(ended) != 0 {
			t.Errorf("EndUserSessions of a user without sessions ended %v", ended)
		}
	})

	t.Run("count includes live sessions of the tenant only", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for _, sess := range []*ports.Session{newSession(tenantA, "s1", at), newSession(tenantA, "s2", at), newSession(tenantB, "s3", at)} {
			mustNil(t, s.CreateSession(t.Context(), sess), "CreateSession")
		}
		expired := newSession(tenantA, "old", at.Add(-48*time.Hour))
		mustNil(t, s.CreateSession(t.Context(), expired), "CreateSession")
		n, err := s.CountSessions(t.Context(), tenantA, at)
		mustNil(t, err, "CountSessions")
		if n != 2 {
			t.Fatalf("CountSessions = %d, want 2", n)
		}
		// A session expires at its ExpiresAt.
		n, err = s.CountSessions(t.Context(), tenantA, at.Add(24*time.Hour))
		mustNil(t, err, "CountSessions")
		if n != 0 {
			t.Fatalf("CountSessions at the expiry = %d, want 0", n)
		}
	})

	testKeyed(t, open, sessions)
}

// checkEndsUserSessions gives user u1 of tenant A the sessions s1, s2 and
// s3, and u2 and tenant B's u1 one each, then checks that end, which ends
// u1's sessions but keep, ends exactly s1 and s3 when keeping s2, and then
// s2 when keeping none.
func checkEndsUserSessions(t *testing.T, s ports.Store, end func(keep string) ([]string, error)) {
	t.Helper()
	at := baseTime()
	for _, k := range [][3]string{{tenantA, "s1", "u1"}, {tenantA, "s2", "u1"}, {tenantA, "s3", "u1"}, {tenantA, "s4", "u2"}, {tenantB, "s5", "u1"}} {
		ss := newSession(k[0], k[1], at)
		ss.UserID = k[2]
		mustNil(t, s.CreateSession(t.Context(), ss), "CreateSession")
	}
	ended, err := end("s2")
	mustNil(t, err, "ending the sessions but s2")
	slices.Sort(ended)
	if !slices.Equal(ended, []string{"s1", "s3"}) {
		t.Errorf("keeping s2 ended %v, want [s1 s3]", ended)
	}
	for _, id := range []string{"s1", "s3"} {
		_, err := s.GetSession(t.Context(), tenantA, id, at)
		mustIs(t, err, ports.ErrNotFound, "GetSession of an ended session")
	}
	for _, k := range [][2]string{{tenantA, "s2"}, {tenantA, "s4"}, {tenantB, "s5"}} {
		_, err := s.GetSession(t.Context(), k[0], k[1], at)
		mustNil(t, err, "GetSession of a session kept")
	}
	ended, err = end("")
	mustNil(t, err, "ending the sessions keeping none")
	if !slices.Equal(ended, []string{"s2"}) {
		t.Errorf("keeping none ended %v, want [s2]", ended)
	}
}
