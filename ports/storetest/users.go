package storetest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newUser(tenant, id, username string, at time.Time) *ports.User {
	return &ports.User{
		ID:            id,
		Tenant:        tenant,
		Username:      username,
		PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$" + id,
		Name:          "Ada " + id,
		GivenName:     "Ada",
		FamilyName:    id,
		Email:         username + "@example.com",
		EmailVerified: true,
		CreatedAt:     at,
	}
}

func testUsers(t *testing.T, open opener) {
	t.Run("created user reads back with every field by id and by username", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			user func() *ports.User
		}{
			{"user with a verified email", func() *ports.User { return newUser(tenantA, "u1", "ada", at) }},
			{"user with only a username and password", func() *ports.User {
				return &ports.User{ID: "u2", Tenant: tenantA, Username: "bob", PasswordHash: "hash", CreatedAt: at}
			}},
			{"user with an unverified email", func() *ports.User {
				u := newUser(tenantA, "u3", "carol", at)
				u.EmailVerified = false
				return u
			}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.user()
				mustNil(t, s.CreateUser(t.Context(), tt.user()), "CreateUser")
				got, err := s.GetUser(t.Context(), want.Tenant, want.ID)
				mustNil(t, err, "GetUser")
				checkEqual(t, want, got)
				got, err = s.GetUserByUsername(t.Context(), want.Tenant, want.Username)
				mustNil(t, err, "GetUserByUsername")
				checkEqual(t, want, got)
			})
		}
	})

	t.Run("taken id or username returns ErrConflict", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name string
			user *ports.User
		}{
			{"same id", newUser(tenantA, "u1", "someone-else", at)},
			{"same username", newUser(tenantA, "u2", "ada", at)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateUser(t.Context(), newUser(tenantA, "u1", "ada", at)), "CreateUser")
				mustIs(t, s.CreateUser(t.Context(), tt.user), ports.ErrConflict, "CreateUser again")
				got, err := s.GetUserByUsername(t.Context(), tenantA, "ada")
				mustNil(t, err, "GetUserByUsername")
				checkEqual(t, newUser(tenantA, "u1", "ada", at), got)
			})
		}
	})

	t.Run("absent user returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateUser(t.Context(), newUser(tenantA, "u1", "ada", baseTime())), "CreateUser")
		tests := []struct {
			name string
			get  func() (*ports.User, error)
		}{
			{"unknown id", func() (*ports.User, error) { return s.GetUser(t.Context(), tenantA, "u2") }},
			{"unknown username", func() (*ports.User, error) { return s.GetUserByUsername(t.Context(), tenantA, "bob") }},
			{"id of another tenant", func() (*ports.User, error) { return s.GetUser(t.Context(), tenantB, "u1") }},
			{"username of another tenant", func() (*ports.User, error) { return s.GetUserByUsername(t.Context(), tenantB, "ada") }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tt.get()
				mustIs(t, err, ports.ErrNotFound, "get")
			})
		}
	})

	t.Run("same id and username in two tenants are allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newUser(tenantA, "u1", "ada", at)
		b := newUser(tenantB, "u1", "ada", at.Add(time.Second))
		b.Name = "Ada of tenant b"
		mustNil(t, s.CreateUser(t.Context(), a), "CreateUser a")
		mustNil(t, s.CreateUser(t.Context(), b), "CreateUser b")
		for _, want := range []*ports.User{a, b} {
			got, err := s.GetUser(t.Context(), want.Tenant, want.ID)
			mustNil(t, err, "GetUser "+want.Tenant)
			checkEqual(t, want, got)
			got, err = s.GetUserByUsername(t.Context(), want.Tenant, want.Username)
			mustNil(t, err, "GetUserByUsername "+want.Tenant)
			checkEqual(t, want, got)
		}
	})

	t.Run("users list by username, byte by byte, per tenant", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		want := []*ports.User{newUser(tenantA, "u3", "Zoe", at), newUser(tenantA, "u1", "ada", at), newUser(tenantA, "u2", "bob", at)}
		for _, u := range []*ports.User{want[1], newUser(tenantB, "u9", "carl", at), want[2], want[0]} {
			mustNil(t, s.CreateUser(t.Context(), u), "CreateUser")
		}
		got, err := s.ListUsers(t.Context(), tenantA, ports.Page{})
		mustNil(t, err, "ListUsers")
		if len(got) != len(want) {
			t.Fatalf("ListUsers returned %d users, want %d", len(got), len(want))
		}
		for i := range want {
			checkEqual(t, want[i], got[i])
		}
		none, err := s.ListUsers(t.Context(), "tenant-without-users", ports.Page{})
		mustNil(t, err, "ListUsers of an empty tenant")
		if len(none) != 0 {
			t.Errorf("ListUsers of an empty tenant = %v", none)
		}
	})

	t.Run("users list in pages after a username", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for i, name := range []string{"dan", "Zoe", "bob", "ada", "carl"} {
			mustNil(t, s.CreateUser(t.Context(), newUser(tenantA, "u"+strconv.Itoa(i), name, at)), "CreateUser")
		}
		mustNil(t, s.CreateUser(t.Context(), newUser(tenantB, "u9", "bea", at)), "CreateUser in the other tenant")
		for _, tt := range []struct {
			page ports.Page
			want []string
		}{
			{ports.Page{Limit: 2}, []string{"Zoe", "ada"}},
			{ports.Page{After: "ada", Limit: 2}, []string{"bob", "carl"}},
			{ports.Page{After: "carl", Limit: 2}, []string{"dan"}},
			{ports.Page{After: "b"}, []string{"bob", "carl", "dan"}},
			{ports.Page{After: "dan", Limit: 2}, nil},
		} {
			got, err := s.ListUsers(t.Context(), tenantA, tt.page)
			mustNil(t, err, "ListUsers")
			var names []string
			for _, u := range got {
				names = append(names, u.Username)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("ListUsers(%+v) = %v, want %v", tt.page, names, tt.want)
			}
		}
	})

	t.Run("a new password hash replaces only that user's", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		ada, other := newUser(tenantA, "u1", "ada", at), newUser(tenantB, "u1", "ada", at)
		mustNil(t, s.CreateUser(t.Context(), ada), "CreateUser")
		mustNil(t, s.CreateUser(t.Context(), other), "CreateUser in the other tenant")
		ended, err := s.SetUserPassword(t.Context(), tenantA, "u1", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$new", "")
		mustNil(t, err, "SetUserPassword")
		if len(ended) != 0 {
			t.Errorf("SetUserPassword of a user without sessions ended %v", ended)
		}
		ada.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$new"
		got, err := s.GetUser(t.Context(), tenantA, "u1")
		mustNil(t, err, "GetUser")
		checkEqual(t, ada, got)
		got, err = s.GetUser(t.Context(), tenantB, "u1")
		mustNil(t, err, "GetUser in the other tenant")
		checkEqual(t, other, got)
		_, err = s.SetUserPassword(t.Context(), tenantA, "nobody", "x", "")
		mustIs(t, err, ports.ErrNotFound, "SetUserPassword of an absent user")
	})

	t.Run("a new password ends the user's other sessions and no one else's", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for _, u := range []*ports.User{newUser(tenantA, "u1", "ada", at), newUser(tenantA, "u2", "bob", at), newUser(tenantB, "u1", "ada", at)} {
			mustNil(t, s.CreateUser(t.Context(), u), "CreateUser")
		}
		checkEndsUserSessions(t, s, func(keep string) ([]string, error) {
			return s.SetUserPassword(t.Context(), tenantA, "u1", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$new-"+keep, keep)
		})
	})

	t.Run("deleting a user removes the user's consents and sessions and revokes the user's tokens", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for _, u := range []*ports.User{newUser(tenantA, "u1", "ada", at), newUser(tenantA, "u2", "bob", at), newUser(tenantB, "u1", "ada", at)} {
			mustNil(t, s.CreateUser(t.Context(), u), "CreateUser")
		}
		session := func(tenant, id, user string) *ports.Session {
			ss := newSession(tenant, id, at)
			ss.UserID = user
			return ss
		}
		for _, ss := range []*ports.Session{session(tenantA, "s1", "u1"), session(tenantA, "s2", "u1"), session(tenantA, "s3", "u2"), session(tenantB, "s1", "u1")} {
			mustNil(t, s.CreateSession(t.Context(), ss), "CreateSession")
		}
		for _, c := range []*ports.Consent{newConsent(tenantA, "u1", "c1", "openid", at), newConsent(tenantA, "u1", "c2", "openid", at), newConsent(tenantA, "u2", "c1", "openid", at), newConsent(tenantB, "u1", "c1", "openid", at)} {
			mustNil(t, s.SaveConsent(t.Context(), c), "SaveConsent")
		}
		token := func(tenant, id, kind, grantID, subject string) *ports.Token {
			tok := newToken(tenant, id, kind, grantID, at)
			tok.Subject = subject
			return tok
		}
		bystanders := []*ports.Token{token(tenantA, "bob-r", ports.TokenRefresh, "g3", "u2"), token(tenantB, "b-r", ports.TokenRefresh, "g4", "u1")}
		mustNil(t, s.CreateTokens(t.Context(), append([]*ports.Token{
			token(tenantA, "a1", ports.TokenAccess, "g1", "u1"),
			token(tenantA, "r1", ports.TokenRefresh, "g1", "u1"),
			token(tenantA, "r2", ports.TokenRefresh, "g2", "u1"),
		}, bystanders...)), "CreateTokens")
		earlier := at.Add(time.Second)
		mustNil(t, s.RevokeToken(t.Context(), tenantA, "r2", earlier), "RevokeToken")

		revokeAt := at.Add(time.Minute)
		n, ended, err := s.DeleteUser(t.Context(), tenantA, "u1", revokeAt)
		mustNil(t, err, "DeleteUser")
		if n != 2 {
			t.Errorf("DeleteUser revoked %d tokens, want 2", n)
		}
		slices.Sort(ended)
		if !slices.Equal(ended, []string{"s1", "s2"}) {
			t.Errorf("DeleteUser ended sessions %v, want [s1 s2]", ended)
		}
		_, err = s.GetUser(t.Context(), tenantA, "u1")
		mustIs(t, err, ports.ErrNotFound, "GetUser after DeleteUser")
		for _, id := range []string{"s1", "s2"} {
			_, err := s.GetSession(t.Context(), tenantA, id, at)
			mustIs(t, err, ports.ErrNotFound, "GetSession of the deleted user")
		}
		if left, err := s.ListConsents(t.Context(), tenantA, "u1"); err != nil || len(left) != 0 {
			t.Errorf("consents of the deleted user: %v, %v", left, err)
		}
		for id, wantAt := range map[string]time.Time{"a1": revokeAt, "r1": revokeAt, "r2": earlier} {
			if tok := getToken(t, s, tenantA, id); tok.RevokedAt == nil || !tok.RevokedAt.Equal(wantAt) {
				t.Errorf("token %s: RevokedAt = %v, want %v", id, tok.RevokedAt, wantAt)
			}
		}
		for _, b := range bystanders {
			checkEqual(t, b, getToken(t, s, b.Tenant, b.ID))
		}
		for _, k := range [][2]string{{tenantA, "u2"}, {tenantB, "u1"}} {
			_, err := s.GetUser(t.Context(), k[0], k[1])
			mustNil(t, err, "GetUser of a user who was not deleted")
			if c, err := s.ListConsents(t.Context(), k[0], k[1]); err != nil || len(c) != 1 {
				t.Errorf("consents of %s in %s: %v, %v", k[1], k[0], c, err)
			}
		}
		for _, k := range [][2]string{{tenantA, "s3"}, {tenantB, "s1"}} {
			_, err := s.GetSession(t.Context(), k[0], k[1], at)
			mustNil(t, err, "GetSession of a user who was not deleted")
		}
		_, _, err = s.DeleteUser(t.Context(), tenantA, "u1", revokeAt)
		mustIs(t, err, ports.ErrNotFound, "DeleteUser of a deleted user")
	})
}
