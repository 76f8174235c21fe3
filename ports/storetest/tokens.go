package storetest

import (
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newToken(tenant, id, kind, grantID string, at time.Time) *ports.Token {
	ttl := time.Hour
	if kind == ports.TokenRefresh {
		ttl = 30 * 24 * time.Hour
	}
	return &ports.Token{
		ID:        id,
		Tenant:    tenant,
		Kind:      kind,
		GrantID:   grantID,
		ClientID:  "client-" + grantID,
		Subject:   "user-" + grantID,
		Scope:     "openid offline_access",
		Audience:  "https://api.example",
		SessionID: "session-" + grantID,
		AuthTime:  ptr(at.Add(-time.Minute)),
		JKT:       "jkt-" + grantID,
		X5TS256:   "x5t-" + grantID,
		// RFC 9396 §2: an array of objects, each with a type.
		AuthorizationDetails: `[{"type":"account_information","actions":["list_accounts"],"locations":["https://` + grantID + `.example"]}]`,
		IssuedAt:             at,
		ExpiresAt:            at.Add(ttl),
	}
}

// issued returns the access and refresh token a rotation of parentID hands
// out, with ids made from prefix.
func issued(tenant, prefix, grantID, parentID string, at time.Time) []*ports.Token {
	access := newToken(tenant, prefix+"-access", ports.TokenAccess, grantID, at)
	access.ParentID = parentID
	refresh := newToken(tenant, prefix+"-refresh", ports.TokenRefresh, grantID, at)
	refresh.ParentID = parentID
	return []*ports.Token{access, refresh}
}

// getToken reads a token the test knows to exist.
func getToken(t *testing.T, s ports.Store, tenant, id string) *ports.Token {
	t.Helper()
	tok, err := s.GetToken(t.Context(), tenant, id)
	mustNil(t, err, "GetToken "+id)
	return tok
}

func mustNotExist(t *testing.T, s ports.Store, tenant, id string) {
	t.Helper()
	_, err := s.GetToken(t.Context(), tenant, id)
	mustIs(t, err, ports.ErrNotFound, "GetToken "+id)
}

func testTokens(t *testing.T, open opener) {
	t.Run("created tokens read back with every field whatever their state", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name  string
			token func() *ports.Token
		}{
			{"access token without optional times", func() *ports.Token {
				return &ports.Token{
					ID: "at-bare", Tenant: tenantA, Kind: ports.TokenAccess, GrantID: "g1", ClientID: "svc",
					Subject: "svc", Scope: "api", IssuedAt: at, ExpiresAt: at.Add(time.Hour),
				}
			}},
			{"access token of a login", func() *ports.Token { return newToken(tenantA, "at-full", ports.TokenAccess, "g1", at) }},
			{"rotated and revoked refresh token", func() *ports.Token {
				tok := newToken(tenantA, "rt-spent", ports.TokenRefresh, "g1", at)
				tok.ParentID = "rt-parent"
				tok.UsedAt = ptr(at.Add(time.Minute))
				tok.RevokedAt = ptr(at.Add(2 * time.Minute))
				return tok
			}},
			{"expired refresh token", func() *ports.Token {
				return newToken(tenantA, "rt-old", ports.TokenRefresh, "g0", at.Add(-60*24*time.Hour))
			}},
		}
		s := open(t)
		var batch []*ports.Token
		for _, tt := range tests {
			batch = append(batch, tt.token())
		}
		mustNil(t, s.CreateTokens(t.Context(), batch), "CreateTokens")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.token()
				checkEqual(t, want, getToken(t, s, want.Tenant, want.ID))
			})
		}
	})

	t.Run("creating no tokens is not an error", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateTokens(t.Context(), nil), "CreateTokens")
	})

	t.Run("duplicate id returns ErrConflict and stores none of the batch", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name  string
			batch []*ports.Token
		}{
			{"id already stored", []*ports.Token{
				newToken(tenantA, "fresh", ports.TokenAccess, "g2", at),
				newToken(tenantA, "taken", ports.TokenRefresh, "g2", at),
			}},
			{"id repeated within the batch", []*ports.Token{
				newToken(tenantA, "fresh", ports.TokenAccess, "g2", at),
				newToken(tenantA, "twice", ports.TokenAccess, "g2", at),
				newToken(tenantA, "twice", ports.TokenRefresh, "g2", at),
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "taken", ports.TokenAccess, "g1", at)}), "CreateTokens")
				mustIs(t, s.CreateTokens(t.Context(), tt.batch), ports.ErrConflict, "CreateTokens with a duplicate")
				mustNotExist(t, s, tenantA, "fresh")
				mustNotExist(t, s, tenantA, "twice")
				checkEqual(t, newToken(tenantA, "taken", ports.TokenAccess, "g1", at), getToken(t, s, tenantA, "taken"))
			})
		}
	})

	t.Run("absent token returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, "t1", ports.TokenAccess, "g1", baseTime())}), "CreateTokens")
		mustNotExist(t, s, tenantA, "t2")
		mustNotExist(t, s, tenantB, "t1")
	})

	t.Run("same id in two tenants is allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newToken(tenantA, "t1", ports.TokenAccess, "g1", at)
		b := newToken(tenantB, "t1", ports.TokenRefresh, "g9", at)
		mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{a}), "CreateTokens a")
		mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{b}), "CreateTokens b")
		checkEqual(t, a, getToken(t, s, tenantA, "t1"))
		checkEqual(t, b, getToken(t, s, tenantB, "t1"))
	})

	testRotation(t, open)
	testRevocation(t, open)
	testSessionClients(t, open)
}

func testSessionClients(t *testing.T, open opener) {
	t.Run("session clients are the distinct clients of the session's tokens in any state, ordered by id", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		tok := func(tenant, id, clientID, sessionID string) *ports.Token {
			x := newToken(tenant, id, ports.TokenAccess, "g-"+id, at)
			x.ClientID, x.SessionID = clientID, sessionID
			return x
		}
		expired := tok(tenantA, "t4", "Zulu", "s1")
		expired.IssuedAt, expired.ExpiresAt = at.Add(-2*time.Hour), at.Add(-time.Hour)
		used := tok(tenantA, "t5", "bravo", "s1")
		used.Kind = ports.TokenRefresh
		used.UsedAt = ptr(at)
		mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{
			tok(tenantA, "t1", "charlie", "s1"),
			tok(tenantA, "t2", "alpha", "s1"),
			tok(tenantA, "t3", "alpha", "s1"),
			expired, used,
			tok(tenantA, "t6", "other-session", "s2"),
			tok(tenantA, "t7", "no-session", ""),
			tok(tenantB, "t1", "tenant-b", "s1"),
		}), "CreateTokens")
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "t1", at), "RevokeToken")

		got, err := s.SessionClients(t.Context(), tenantA, "s1")
		mustNil(t, err, "SessionClients")
		want := []string{"Zulu", "alpha", "bravo", "charlie"}
		if !slices.Equal(got, want) {
			t.Errorf("SessionClients = %q, want %q", got, want)
		}
	})

	t.Run("unknown or empty session has no clients", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		svc := newToken(tenantA, "t1", ports.TokenAccess, "g1", at)
		svc.SessionID = ""
		mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{svc, newToken(tenantA, "t2", ports.TokenAccess, "g2", at)}), "CreateTokens")
		for _, session := range []string{"nobody", ""} {
			got, err := s.SessionClients(t.Context(), tenantA, session)
			mustNil(t, err, "SessionClients")
			if len(got) != 0 {
				t.Errorf("SessionClients(%q) = %q, want none", session, got)
			}
		}
	})
}

// grantFixture stores one grant's first access and refresh token, plus
// tokens that must never be touched by operations on that grant: another
// grant of the tenant and the same grant id in another tenant.
func grantFixture(t *testing.T, s ports.Store, at time.Time) {
	t.Helper()
	mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{
		newToken(tenantA, "a0", ports.TokenAccess, "g1", at),
		newToken(tenantA, "r0", ports.TokenRefresh, "g1", at),
		newToken(tenantA, "other-a0", ports.TokenAccess, "g2", at),
		newToken(tenantA, "other-r0", ports.TokenRefresh, "g2", at),
		newToken(tenantB, "b-r0", ports.TokenRefresh, "g1", at),
	}), "CreateTokens")
}

// checkBystanders verifies that the tokens of grantFixture outside grant g1
// of tenant a are untouched.
func checkBystanders(t *testing.T, s ports.Store, at time.Time) {
	t.Helper()
	checkEqual(t, newToken(tenantA, "other-a0", ports.TokenAccess, "g2", at), getToken(t, s, tenantA, "other-a0"))
	checkEqual(t, newToken(tenantA, "other-r0", ports.TokenRefresh, "g2", at), getToken(t, s, tenantA, "other-r0"))
	checkEqual(t, newToken(tenantB, "b-r0", ports.TokenRefresh, "g1", at), getToken(t, s, tenantB, "b-r0"))
}

func testRotation(t *testing.T, open opener) {
	t.Run("rotation stores the issued tokens and marks the old one used", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		now := at.Add(time.Minute)

		old, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", now, ports.Rotation{Issued: issued(tenantA, "n1", "g1", "r0", now)})
		mustNil(t, err, "RotateRefreshToken")
		wantOld := newToken(tenantA, "r0", ports.TokenRefresh, "g1", at)
		wantOld.UsedAt = ptr(now)
		checkEqual(t, wantOld, old)
		checkEqual(t, wantOld, getToken(t, s, tenantA, "r0"))
		for _, want := range issued(tenantA, "n1", "g1", "r0", now) {
			checkEqual(t, want, getToken(t, s, tenantA, want.ID))
		}
		checkEqual(t, newToken(tenantA, "a0", ports.TokenAccess, "g1", at), getToken(t, s, tenantA, "a0"))
		checkBystanders(t, s, at)
	})

	t.Run("the issued refresh token rotates in turn", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		now := at.Add(time.Minute)
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", now, ports.Rotation{Issued: issued(tenantA, "n1", "g1", "r0", now)})
		mustNil(t, err, "first RotateRefreshToken")
		later := now.Add(time.Minute)
		_, err = s.RotateRefreshToken(t.Context(), tenantA, "n1-refresh", later, ports.Rotation{Issued: issued(tenantA, "n2", "g1", "n1-refresh", later)})
		mustNil(t, err, "second RotateRefreshToken")
		for _, want := range issued(tenantA, "n2", "g1", "n1-refresh", later) {
			checkEqual(t, want, getToken(t, s, tenantA, want.ID))
		}
	})

	t.Run("second rotation returns ErrAlreadyUsed and revokes every token of the grant", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		first := at.Add(time.Minute)
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", first, ports.Rotation{Issued: issued(tenantA, "n1", "g1", "r0", first)})
		mustNil(t, err, "first RotateRefreshToken")

		replay := at.Add(2 * time.Minute)
		got, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", replay, ports.Rotation{Issued: issued(tenantA, "n2", "g1", "r0", replay)})
		mustIs(t, err, ports.ErrAlreadyUsed, "replayed RotateRefreshToken")
		if got == nil {
			t.Fatal("RotateRefreshToken of a used token returned no token")
		}
		if got.ID != "r0" || got.GrantID != "g1" || got.UsedAt == nil || !got.UsedAt.Equal(first) {
			t.Errorf("replay returned token %q of grant %q used at %v, want r0 of g1 used at %v", got.ID, got.GrantID, got.UsedAt, first)
		}
		for _, id := range []string{"a0", "r0", "n1-access", "n1-refresh"} {
			tok := getToken(t, s, tenantA, id)
			if tok.RevokedAt == nil || !tok.RevokedAt.Equal(replay) {
				t.Errorf("token %s: RevokedAt = %v, want %v", id, tok.RevokedAt, replay)
			}
		}
		mustNotExist(t, s, tenantA, "n2-access")
		mustNotExist(t, s, tenantA, "n2-refresh")
		checkBystanders(t, s, at)

		again := at.Add(3 * time.Minute)
		_, err = s.RotateRefreshToken(t.Context(), tenantA, "r0", again, ports.Rotation{Issued: issued(tenantA, "n3", "g1", "r0", again)})
		mustIs(t, err, ports.ErrAlreadyUsed, "RotateRefreshToken replayed after the grant was revoked")
		mustNotExist(t, s, tenantA, "n3-refresh")
		if tok := getToken(t, s, tenantA, "n1-refresh"); tok.RevokedAt == nil || !tok.RevokedAt.Equal(replay) {
			t.Errorf("a later replay moved RevokedAt of n1-refresh to %v, want %v", tok.RevokedAt, replay)
		}
	})

	t.Run("tokens that cannot be rotated return ErrNotFound and change nothing", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name   string
			tenant string
			id     string
			now    time.Time
			setup  func(t *testing.T, s ports.Store)
		}{
			{name: "absent token", tenant: tenantA, id: "nobody", now: at},
			{name: "token of another tenant", tenant: tenantB, id: "r0", now: at},
			{name: "access token", tenant: tenantA, id: "a0", now: at},
			{name: "expired at now", tenant: tenantA, id: "r0", now: newToken(tenantA, "r0", ports.TokenRefresh, "g1", at).ExpiresAt},
			{name: "revoked refresh token", tenant: tenantA, id: "r0", now: at, setup: func(t *testing.T, s ports.Store) {
				mustNil(t, s.RevokeToken(t.Context(), tenantA, "r0", at), "RevokeToken")
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				grantFixture(t, s, at)
				if tt.setup != nil {
					tt.setup(t, s)
				}
				before := getToken(t, s, tenantA, "r0")
				_, err := s.RotateRefreshToken(t.Context(), tt.tenant, tt.id, tt.now, ports.Rotation{Issued: issued(tt.tenant, "n1", "g1", tt.id, tt.now)})
				mustIs(t, err, ports.ErrNotFound, "RotateRefreshToken")
				mustNotExist(t, s, tt.tenant, "n1-access")
				mustNotExist(t, s, tt.tenant, "n1-refresh")
				checkEqual(t, before, getToken(t, s, tenantA, "r0"))
				checkEqual(t, newToken(tenantA, "a0", ports.TokenAccess, "g1", at), getToken(t, s, tenantA, "a0"))
				checkBystanders(t, s, at)
			})
		}
	})

	t.Run("rotation whose issued id is taken returns ErrConflict and leaves the old token unused", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		now := at.Add(time.Minute)
		clash := issued(tenantA, "n1", "g1", "r0", now)
		clash[1].ID = "other-r0"
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", now, ports.Rotation{Issued: clash})
		mustIs(t, err, ports.ErrConflict, "RotateRefreshToken")
		mustNotExist(t, s, tenantA, "n1-access")
		checkEqual(t, newToken(tenantA, "r0", ports.TokenRefresh, "g1", at), getToken(t, s, tenantA, "r0"))
		checkBystanders(t, s, at)

		_, err = s.RotateRefreshToken(t.Context(), tenantA, "r0", now, ports.Rotation{Issued: issued(tenantA, "n2", "g1", "r0", now)})
		mustNil(t, err, "RotateRefreshToken after the failed attempt")
	})
}

func testRevocation(t *testing.T, open opener) {
	t.Run("revoking a token sets RevokedAt and nothing else", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		now := at.Add(time.Minute)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "a0", now), "RevokeToken")
		want := newToken(tenantA, "a0", ports.TokenAccess, "g1", at)
		want.RevokedAt = ptr(now)
		checkEqual(t, want, getToken(t, s, tenantA, "a0"))
		checkEqual(t, newToken(tenantA, "r0", ports.TokenRefresh, "g1", at), getToken(t, s, tenantA, "r0"))
		checkBystanders(t, s, at)
	})

	t.Run("revoking a revoked token keeps the first revocation time", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		first := at.Add(time.Minute)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "r0", first), "RevokeToken")
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "r0", first.Add(time.Minute)), "RevokeToken again")
		if tok := getToken(t, s, tenantA, "r0"); tok.RevokedAt == nil || !tok.RevokedAt.Equal(first) {
			t.Errorf("RevokedAt = %v, want %v", tok.RevokedAt, first)
		}
	})

	t.Run("revoking an absent token is not an error", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "nobody", at), "RevokeToken unknown id")
		mustNil(t, s.RevokeToken(t.Context(), tenantB, "a0", at), "RevokeToken from tenant b")
		checkEqual(t, newToken(tenantA, "a0", ports.TokenAccess, "g1", at), getToken(t, s, tenantA, "a0"))
	})

	t.Run("revoking a grant revokes every token of it and nothing else", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		now := at.Add(time.Minute)
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", now, ports.Rotation{Issued: issued(tenantA, "n1", "g1", "r0", now)})
		mustNil(t, err, "RotateRefreshToken")
		earlier := now.Add(time.Second)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "n1-access", earlier), "RevokeToken")

		revokeAt := now.Add(time.Minute)
		mustNil(t, s.RevokeGrant(t.Context(), tenantA, "g1", revokeAt), "RevokeGrant")
		for id, want := range map[string]time.Time{"a0": revokeAt, "r0": revokeAt, "n1-access": earlier, "n1-refresh": revokeAt} {
			tok := getToken(t, s, tenantA, id)
			if tok.RevokedAt == nil || !tok.RevokedAt.Equal(want) {
				t.Errorf("token %s: RevokedAt = %v, want %v", id, tok.RevokedAt, want)
			}
		}
		checkBystanders(t, s, at)
	})

	t.Run("revoking an absent grant is not an error", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		mustNil(t, s.RevokeGrant(t.Context(), tenantA, "nothing", at), "RevokeGrant")
		checkEqual(t, newToken(tenantA, "r0", ports.TokenRefresh, "g1", at), getToken(t, s, tenantA, "r0"))
	})

	t.Run("a revoked grant's refresh token no longer rotates", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		mustNil(t, s.RevokeGrant(t.Context(), tenantA, "g1", at), "RevokeGrant")
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r0", at.Add(time.Second), ports.Rotation{Issued: issued(tenantA, "n1", "g1", "r0", at)})
		mustIs(t, err, ports.ErrNotFound, "RotateRefreshToken")
	})

	t.Run("revoking a client's tokens revokes every grant of it and nothing else", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		clientToken := func(tenant, id, kind, grantID, clientID string) *ports.Token {
			tok := newToken(tenant, id, kind, grantID, at)
			tok.ClientID = clientID
			return tok
		}
		bystanders := []*ports.Token{
			clientToken(tenantA, "other-a", ports.TokenAccess, "g3", "c2"),
			clientToken(tenantA, "other-r", ports.TokenRefresh, "g3", "c2"),
			clientToken(tenantB, "b-a", ports.TokenAccess, "g1", "c1"),
			clientToken(tenantB, "b-r", ports.TokenRefresh, "g1", "c1"),
		}
		mustNil(t, s.CreateTokens(t.Context(), append([]*ports.Token{
			clientToken(tenantA, "a1", ports.TokenAccess, "g1", "c1"),
			clientToken(tenantA, "r1", ports.TokenRefresh, "g1", "c1"),
			clientToken(tenantA, "a2", ports.TokenAccess, "g2", "c1"),
			clientToken(tenantA, "r2", ports.TokenRefresh, "g2", "c1"),
		}, bystanders...)), "CreateTokens")
		now := at.Add(time.Minute)
		rotated := issued(tenantA, "n1", "g1", "r1", now)
		for _, tok := range rotated {
			tok.ClientID = "c1"
		}
		_, err := s.RotateRefreshToken(t.Context(), tenantA, "r1", now, ports.Rotation{Issued: rotated})
		mustNil(t, err, "RotateRefreshToken")
		earlier := now.Add(time.Second)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "a2", earlier), "RevokeToken")

		revokeAt := now.Add(time.Minute)
		n, err := s.RevokeClientTokens(t.Context(), tenantA, "c1", revokeAt)
		mustNil(t, err, "RevokeClientTokens")
		if n != 5 {
			t.Errorf("RevokeClientTokens revoked %d tokens, want 5", n)
		}
		want := map[string]time.Time{
			"a1": revokeAt, "r1": revokeAt, "a2": earlier, "r2": revokeAt,
			"n1-access": revokeAt, "n1-refresh": revokeAt,
		}
		for id, wantAt := range want {
			tok := getToken(t, s, tenantA, id)
			if tok.RevokedAt == nil || !tok.RevokedAt.Equal(wantAt) {
				t.Errorf("token %s: RevokedAt = %v, want %v", id, tok.RevokedAt, wantAt)
			}
		}
		for _, b := range bystanders {
			checkEqual(t, b, getToken(t, s, b.Tenant, b.ID))
		}

		n, err = s.RevokeClientTokens(t.Context(), tenantA, "c1", revokeAt.Add(time.Minute))
		mustNil(t, err, "RevokeClientTokens again")
		if n != 0 {
			t.Errorf("RevokeClientTokens again revoked %d tokens, want 0", n)
		}
		if tok := getToken(t, s, tenantA, "a1"); tok.RevokedAt == nil || !tok.RevokedAt.Equal(revokeAt) {
			t.Errorf("token a1 after a second call: RevokedAt = %v, want %v", tok.RevokedAt, revokeAt)
		}
	})

	t.Run("revoking the tokens of a client without any revokes none", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		grantFixture(t, s, at)
		n, err := s.RevokeClientTokens(t.Context(), tenantA, "nobody", at)
		mustNil(t, err, "RevokeClientTokens")
		if n != 0 {
			t.Errorf("RevokeClientTokens revoked %d tokens, want 0", n)
		}
		checkEqual(t, newToken(tenantA, "r0", ports.TokenRefresh, "g1", at), getToken(t, s, tenantA, "r0"))
		checkBystanders(t, s, at)
	})
}
