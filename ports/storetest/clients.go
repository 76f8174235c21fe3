package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// newClient returns a client with every field set to a value derived from
// its id, so that a store mixing up rows or columns shows in the diff.
func newClient(tenant, id string, at time.Time) *ports.Client {
	return &ports.Client{
		ID:                    id,
		Tenant:                tenant,
		SecretHash:            "secret-hash-" + id,
		RegistrationTokenHash: "registration-hash-" + id,
		SecretSealed:          sealedFor(id),
		Name:                  "Client " + id,
		RedirectURIs:          []string{"https://" + id + ".example/cb", "http://127.0.0.1:8000/cb"},
		GrantTypes:            []string{"authorization_code", "refresh_token"},
		ResponseTypes:         []string{"code"},
		Scope:                 "openid profile email",
		TokenEndpointAuth:     ports.AuthMethodSecretBasic,
		ApplicationType:       "web",
		AccessTokenFormat:     ports.TokenFormatJWT,
		Metadata:              []byte(fmt.Sprintf(`{"client_uri":"https://%s.example","contacts":["ops@%s.example"]}`, id, id)),
		CreatedAt:             at,
		UpdatedAt:             at.Add(time.Minute),
	}
}

// sealedFor stands in for a sealed secret: arbitrary bytes, not text, that
// differ per client.
func sealedFor(id string) []byte {
	sum := sha256.Sum256([]byte("sealed-" + id))
	return sum[:]
}

// randomSealed returns bytes shaped like an AES-256-GCM sealed secret
// (nonce, ciphertext, tag).
func randomSealed() []byte {
	b := make([]byte, 12+32+16)
	rand.Read(b)
	return b
}

func testClients(t *testing.T, open opener) {
	t.Run("created client reads back with every field", func(t *testing.T) {
		at := baseTime()
		sealed := randomSealed()
		tests := []struct {
			name   string
			client func() *ports.Client
		}{
			{"confidential web client", func() *ports.Client { return newClient(tenantA, "web", at) }},
			{"public native client without slices or metadata", func() *ports.Client {
				return &ports.Client{
					ID:                "native",
					Tenant:            tenantA,
					Name:              "CLI",
					TokenEndpointAuth: ports.AuthMethodNone,
					ApplicationType:   "native",
					AccessTokenFormat: ports.TokenFormatOpaque,
					CreatedAt:         at,
					UpdatedAt:         at,
				}
			}},
			{"client_secret_jwt client with a sealed secret", func() *ports.Client {
				c := newClient(tenantA, "jwt", at)
				c.TokenEndpointAuth = "client_secret_jwt"
				c.SecretSealed = sealed
				return c
			}},
			{"service client with client_credentials only", func() *ports.Client {
				c := newClient(tenantA, "service", at)
				c.RedirectURIs = []string{}
				c.ResponseTypes = nil
				c.GrantTypes = []string{"client_credentials"}
				return c
			}},
		}
		s := open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.client()
				mustNil(t, s.CreateClient(t.Context(), tt.client()), "CreateClient")
				got, err := s.GetClient(t.Context(), want.Tenant, want.ID)
				mustNil(t, err, "GetClient")
				checkEqual(t, want, got)
			})
		}
	})

	t.Run("duplicate id returns ErrConflict", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "dup", at)), "CreateClient")
		other := newClient(tenantA, "dup", at.Add(time.Hour))
		other.Name = "impostor"
		mustIs(t, s.CreateClient(t.Context(), other), ports.ErrConflict, "CreateClient again")
		got, err := s.GetClient(t.Context(), tenantA, "dup")
		mustNil(t, err, "GetClient")
		checkEqual(t, newClient(tenantA, "dup", at), got)
	})

	t.Run("absent client returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.GetClient(t.Context(), tenantA, "nobody")
		mustIs(t, err, ports.ErrNotFound, "GetClient")
	})

	t.Run("client of another tenant returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", baseTime())), "CreateClient")
		_, err := s.GetClient(t.Context(), tenantB, "app")
		mustIs(t, err, ports.ErrNotFound, "GetClient from tenant b")
	})

	t.Run("same id in two tenants is allowed and kept apart", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newClient(tenantA, "app", at)
		b := newClient(tenantB, "app", at.Add(time.Second))
		b.Name = "tenant b's app"
		mustNil(t, s.CreateClient(t.Context(), a), "CreateClient a")
		mustNil(t, s.CreateClient(t.Context(), b), "CreateClient b")
		for _, want := range []*ports.Client{a, b} {
			got, err := s.GetClient(t.Context(), want.Tenant, want.ID)
			mustNil(t, err, "GetClient "+want.Tenant)
			checkEqual(t, want, got)
		}
	})

	t.Run("update replaces every field", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", at)), "CreateClient")
		want := &ports.Client{
			ID:                    "app",
			Tenant:                tenantA,
			SecretHash:            "rotated-secret-hash",
			RegistrationTokenHash: "rotated-registration-hash",
			SecretSealed:          randomSealed(),
			Name:                  "Renamed",
			RedirectURIs:          []string{"https://new.example/cb"},
			GrantTypes:            []string{"client_credentials"},
			ResponseTypes:         nil,
			Scope:                 "api:read",
			TokenEndpointAuth:     ports.AuthMethodSecretPost,
			ApplicationType:       "native",
			AccessTokenFormat:     ports.TokenFormatOpaque,
			Metadata:              []byte(`{"software_id":"x"}`),
			CreatedAt:             at.Add(-time.Hour),
			UpdatedAt:             at.Add(time.Hour),
		}
		update := *want
		mustNil(t, s.UpdateClient(t.Context(), &update), "UpdateClient")
		got, err := s.GetClient(t.Context(), tenantA, "app")
		mustNil(t, err, "GetClient")
		checkEqual(t, want, got)
	})

	t.Run("update without a sealed secret clears it", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", at)), "CreateClient")
		want := newClient(tenantA, "app", at)
		want.TokenEndpointAuth = ports.AuthMethodSecretPost
		want.SecretSealed = nil
		update := *want
		mustNil(t, s.UpdateClient(t.Context(), &update), "UpdateClient")
		got, err := s.GetClient(t.Context(), tenantA, "app")
		mustNil(t, err, "GetClient")
		if len(got.SecretSealed) != 0 {
			t.Errorf("SecretSealed = %x after an update without it, want empty", got.SecretSealed)
		}
		checkEqual(t, want, got)
	})

	t.Run("update of absent client returns ErrNotFound", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name, tenant, id string
		}{
			{"unknown id", tenantA, "nobody"},
			{"id of another tenant", tenantB, "app"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", at)), "CreateClient")
				c := newClient(tt.tenant, tt.id, at)
				c.Name = "changed"
				mustIs(t, s.UpdateClient(t.Context(), c), ports.ErrNotFound, "UpdateClient")
				got, err := s.GetClient(t.Context(), tenantA, "app")
				mustNil(t, err, "GetClient")
				checkEqual(t, newClient(tenantA, "app", at), got)
				_, err = s.GetClient(t.Context(), tt.tenant, tt.id)
				mustIs(t, err, ports.ErrNotFound, "GetClient of the id the failed update named")
			})
		}
	})

	t.Run("delete removes the client", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", at)), "CreateClient")
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "other", at)), "CreateClient")
		mustNil(t, s.DeleteClient(t.Context(), tenantA, "app"), "DeleteClient")
		_, err := s.GetClient(t.Context(), tenantA, "app")
		mustIs(t, err, ports.ErrNotFound, "GetClient after delete")
		_, err = s.GetClient(t.Context(), tenantA, "other")
		mustNil(t, err, "GetClient of a client that was not deleted")
	})

	t.Run("delete of absent client returns ErrNotFound", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", at)), "CreateClient")
		mustIs(t, s.DeleteClient(t.Context(), tenantA, "nobody"), ports.ErrNotFound, "DeleteClient unknown id")
		mustIs(t, s.DeleteClient(t.Context(), tenantB, "app"), ports.ErrNotFound, "DeleteClient from tenant b")
		_, err := s.GetClient(t.Context(), tenantA, "app")
		mustNil(t, err, "GetClient after another tenant's delete")
	})

	// Byte order, as sort.Strings has it: upper case before lower case,
	// which a natural-language collation would interleave.
	t.Run("list returns the tenant's clients ordered by id byte by byte", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for i, id := range []string{"charlie", "Zulu", "alpha", "bravo"} {
			mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, id, at.Add(time.Duration(i)*time.Second))), "CreateClient")
		}
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantB, "aardvark", at)), "CreateClient tenant b")

		got, err := s.ListClients(t.Context(), tenantA, ports.Page{})
		mustNil(t, err, "ListClients")
		want := []*ports.Client{
			newClient(tenantA, "Zulu", at.Add(1*time.Second)),
			newClient(tenantA, "alpha", at.Add(2*time.Second)),
			newClient(tenantA, "bravo", at.Add(3*time.Second)),
			newClient(tenantA, "charlie", at),
		}
		if len(got) != len(want) {
			t.Fatalf("ListClients returned %d clients, want %d", len(got), len(want))
		}
		for i := range want {
			checkEqual(t, want[i], got[i])
		}
	})

	t.Run("clients list in pages after an id", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for _, id := range []string{"delta", "Zulu", "bravo", "alpha", "charlie"} {
			mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, id, at)), "CreateClient")
		}
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantB, "beta", at)), "CreateClient tenant b")
		for _, tt := range []struct {
			page ports.Page
			want []string
		}{
			{ports.Page{Limit: 2}, []string{"Zulu", "alpha"}},
			{ports.Page{After: "alpha", Limit: 2}, []string{"bravo", "charlie"}},
			{ports.Page{After: "charlie", Limit: 2}, []string{"delta"}},
			{ports.Page{After: "b"}, []string{"bravo", "charlie", "delta"}},
			{ports.Page{After: "delta", Limit: 2}, nil},
		} {
			got, err := s.ListClients(t.Context(), tenantA, tt.page)
			mustNil(t, err, "ListClients")
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ListClients(%+v) = %v, want %v", tt.page, ids, tt.want)
			}
		}
	})

	t.Run("list of a tenant without clients is empty", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateClient(t.Context(), newClient(tenantA, "app", baseTime())), "CreateClient")
		got, err := s.ListClients(t.Context(), tenantB, ports.Page{})
		mustNil(t, err, "ListClients")
		if len(got) != 0 {
			t.Fatalf("ListClients returned %d clients, want none", len(got))
		}
	})
}
