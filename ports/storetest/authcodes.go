package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newAuthCode(tenant, hash string, at time.Time) *ports.AuthorizationCode {
	return &ports.AuthorizationCode{
		Hash:                 hash,
		Tenant:               tenant,
		GrantID:              "grant-" + hash,
		ClientID:             "client-" + hash,
		UserID:               "user-" + hash,
		SessionID:            "session-" + hash,
		RedirectURI:          "https://app.example/cb?from=" + hash,
		Scope:                "openid profile offline_access",
		Resources:            []string{"https://api.example/" + hash, "https://a.example/"}, // unsorted: request order must survive
		Nonce:                "nonce-" + hash,
		AuthorizationDetails: `[{"type":"payment_initiation","instructedAmount":{"currency":"EUR","amount":"` + hash + `"}}]`,
		DPoPJKT:              "jkt-" + hash,
		CodeChallenge:        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod:  "S256",
		AuthTime:             at.Add(-time.Minute),
		CreatedAt:            at,
		ExpiresAt:            at.Add(time.Minute),
	}
}

// redeemed returns what a code looks like once redeemed at usedAt.
func redeemed(c *ports.AuthorizationCode, usedAt time.Time) *ports.AuthorizationCode {
	c.UsedAt = &usedAt
	return c
}

func testAuthCodes(t *testing.T, open opener) {
	t.Run("a fresh code reads back with every field, and redeemed with UsedAt set", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			code func() *ports.AuthorizationCode
		}{
			{"code with PKCE, nonce and session", func() *ports.AuthorizationCode { return newAuthCode(tenantA, "full", at) }},
			{"code without optional parameters", func() *ports.AuthorizationCode {
				return &ports.AuthorizationCode{
					Hash: "bare", Tenant: tenantA, GrantID: "g", ClientID: "c", UserID: "u",
					RedirectURI: "https://app.example/cb", AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(time.Minute),
				}
			}},
			{"code with an empty resource list", func() *ports.AuthorizationCode {
				c := newAuthCode(tenantA, "no-resources", at)
				c.Resources = []string{}
				return c
			}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := tt.code()
				mustNil(t, s.CreateAuthCode(t.Context(), tt.code()), "CreateAuthCode")
				now := at.Add(10 * time.Second)
				got, err := s.GetAuthCode(t.Context(), c.Tenant, c.Hash, now)
				mustNil(t, err, "GetAuthCode")
				checkEqual(t, c, got)
				got, err = s.RedeemAuthCode(t.Context(), c.Tenant, c.Hash, now, ports.Redemption{})
				mustNil(t, err, "RedeemAuthCode")
				checkEqual(t, redeemed(c, now), got)
				got, err = s.GetAuthCode(t.Context(), c.Tenant, c.Hash, now)
				mustNil(t, err, "GetAuthCode of the redeemed code")
				checkEqual(t, redeemed(c, now), got)
			})
		}
	})

	t.Run("duplicate hash returns ErrConflict", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		mustIs(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at.Add(time.Second))), ports.ErrConflict, "CreateAuthCode again")
	})

	t.Run("redeeming stores the tokens the code buys", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		want := issued(tenantA, "n1", "grant-h1", "", at)
		_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{Issued: want})
		mustNil(t, err, "RedeemAuthCode")
		for _, tok := range want {
			checkEqual(t, tok, getToken(t, s, tenantA, tok.ID))
		}
	})

	t.Run("a failed redemption stores none of its tokens", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at.Add(time.Hour), ports.Redemption{Issued: issued(tenantA, "late", "grant-h1", "", at)})
		mustIs(t, err, ports.ErrNotFound, "RedeemAuthCode of an expired code")
		mustNotExist(t, s, tenantA, "late-access")
		_, err = s.RedeemAuthCode(t.Context(), tenantA, "h2", at, ports.Redemption{Issued: issued(tenantA, "absent", "grant-h2", "", at)})
		mustIs(t, err, ports.ErrNotFound, "RedeemAuthCode of an absent code")
		mustNotExist(t, s, tenantA, "absent-access")
		_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{Issued: issued(tenantA, "first", "grant-h1", "", at)})
		mustNil(t, err, "RedeemAuthCode")
		_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{Issued: issued(tenantA, "second", "grant-h1", "", at)})
		mustIs(t, err, ports.ErrAlreadyUsed, "RedeemAuthCode again")
		mustNotExist(t, s, tenantA, "second-access")
		mustNotExist(t, s, tenantA, "second-refresh")
	})

	t.Run("a used code presented again revokes every token of its grant, even once expired", func(t *testing.T) {
		at := baseTime()
		for _, again := range []time.Time{at.Add(2 * time.Second), at.Add(time.Hour)} {
			s := open(t)
			mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
			other := newToken(tenantA, "other-grant", ports.TokenAccess, "grant-h2", at)
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{other}), "CreateTokens")
			_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", at.Add(time.Second), ports.Redemption{Issued: issued(tenantA, "n1", "grant-h1", "", at)})
			mustNil(t, err, "RedeemAuthCode")
			_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", again, ports.Redemption{})
			mustIs(t, err, ports.ErrAlreadyUsed, "RedeemAuthCode again")
			for _, id := range []string{"n1-access", "n1-refresh"} {
				if tok := getToken(t, s, tenantA, id); tok.RevokedAt == nil || !tok.RevokedAt.Equal(again) {
					t.Errorf("token %s of the replayed code: RevokedAt = %v, want %v", id, tok.RevokedAt, again)
				}
			}
			if tok := getToken(t, s, tenantA, other.ID); tok.RevokedAt != nil {
				t.Errorf("a token of another grant was revoked: %v", tok.RevokedAt)
			}
		}
	})

	t.Run("reading a code changes nothing", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		for range 2 {
			_, err := s.GetAuthCode(t.Context(), tenantA, "h1", at)
			mustNil(t, err, "GetAuthCode")
		}
		_, err := s.GetAuthCode(t.Context(), tenantA, "h1", at.Add(time.Hour))
		mustIs(t, err, ports.ErrNotFound, "GetAuthCode of an expired code")
		_, err = s.GetAuthCode(t.Context(), tenantB, "h1", at)
		mustIs(t, err, ports.ErrNotFound, "GetAuthCode from tenant b")
		_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{})
		mustNil(t, err, "RedeemAuthCode after reads")
		got, err := s.GetAuthCode(t.Context(), tenantA, "h1", at.Add(time.Hour))
		mustNil(t, err, "GetAuthCode of a used, expired code")
		checkEqual(t, redeemed(newAuthCode(tenantA, "h1", at), at), got)
	})

	t.Run("reused code returns the code with ErrAlreadyUsed", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		first := at.Add(time.Second)
		_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", first, ports.Redemption{})
		mustNil(t, err, "first RedeemAuthCode")
		for _, now := range []time.Time{at.Add(2 * time.Second), at.Add(3 * time.Second)} {
			got, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", now, ports.Redemption{})
			mustIs(t, err, ports.ErrAlreadyUsed, "RedeemAuthCode again")
			if got == nil {
				t.Fatal("RedeemAuthCode of a used code returned no code; the caller needs its grant id")
			}
			checkEqual(t, redeemed(newAuthCode(tenantA, "h1", at), first), got)
		}
	})

	t.Run("code is redeemable until it expires", func(t *testing.T) {
		at := baseTime()
		c := newAuthCode(tenantA, "h1", at)
		for _, tt := range expiryCases(c.ExpiresAt) {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
				_, err := s.RedeemAuthCode(t.Context(), tenantA, "h1", tt.now, ports.Redemption{})
				checkExpiry(t, err, tt.live)
			})
		}
	})

	t.Run("absent code returns ErrNotFound without consuming another tenant's code", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, "h1", at)), "CreateAuthCode")
		_, err := s.RedeemAuthCode(t.Context(), tenantA, "h2", at, ports.Redemption{})
		mustIs(t, err, ports.ErrNotFound, "RedeemAuthCode unknown hash")
		_, err = s.RedeemAuthCode(t.Context(), tenantB, "h1", at, ports.Redemption{})
		mustIs(t, err, ports.ErrNotFound, "RedeemAuthCode from tenant b")
		_, err = s.RedeemAuthCode(t.Context(), tenantA, "h1", at, ports.Redemption{})
		mustNil(t, err, "RedeemAuthCode by the owning tenant")
	})

	t.Run("same hash in two tenants is redeemed independently", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newAuthCode(tenantA, "h1", at)
		b := newAuthCode(tenantB, "h1", at)
		b.ClientID = "tenant b's client"
		mustNil(t, s.CreateAuthCode(t.Context(), a), "CreateAuthCode a")
		mustNil(t, s.CreateAuthCode(t.Context(), b), "CreateAuthCode b")
		for _, want := range []*ports.AuthorizationCode{a, b} {
			got, err := s.RedeemAuthCode(t.Context(), want.Tenant, want.Hash, at, ports.Redemption{})
			mustNil(t, err, "RedeemAuthCode "+want.Tenant)
			checkEqual(t, redeemed(want, at), got)
		}
	})
}
