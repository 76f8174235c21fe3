package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newKey(tenant, id string, at time.Time) *ports.SigningKey {
	return &ports.SigningKey{
		ID:         id,
		Tenant:     tenant,
		Algorithm:  "ES256",
		PrivateKey: []byte{0x00, 0x01, 0xfe, 0xff, 'k', 'e', 'y', 0x00},
		PublicJWK:  []byte(`{"kty":"EC","crv":"P-256","kid":"` + id + `","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`),
		CreatedAt:  at,
		NotBefore:  at.Add(time.Minute),
	}
}

func testKeys(t *testing.T, open opener) {
	t.Run("created keys read back with every field", func(t *testing.T) {
		at := baseTime()
		current := newKey(tenantA, "current", at)
		retired := newKey(tenantA, "retired", at.Add(-48*time.Hour))
		retired.Algorithm = "RS256"
		retired.RetiredAt = ptr(at.Add(-time.Hour))
		retired.ExpiresAt = ptr(at.Add(24 * time.Hour))

		s := open(t)
		mustNil(t, s.CreateKey(t.Context(), current), "CreateKey current")
		mustNil(t, s.CreateKey(t.Context(), retired), "CreateKey retired")
		got, err := s.ListKeys(t.Context(), tenantA)
		mustNil(t, err, "ListKeys")
		if len(got) != 2 {
			t.Fatalf("ListKeys returned %d keys, want 2", len(got))
		}
		checkEqual(t, retired, got[0])
		checkEqual(t, current, got[1])
	})

	t.Run("keys are listed oldest first", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		var want []*ports.SigningKey
		for i, id := range []string{"k-b", "k-c", "k-a"} {
			want = append(want, newKey(tenantA, id, at.Add(time.Duration(i)*time.Millisecond)))
		}
		for _, i := range []int{2, 0, 1} {
			mustNil(t, s.CreateKey(t.Context(), want[i]), "CreateKey")
		}
		got, err := s.ListKeys(t.Context(), tenantA)
		mustNil(t, err, "ListKeys")
		if len(got) != len(want) {
			t.Fatalf("ListKeys returned %d keys, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Errorf("key %d is %q, want %q", i, got[i].ID, want[i].ID)
			}
		}
	})

	t.Run("duplicate kid returns ErrConflict", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		mustNil(t, s.CreateKey(t.Context(), newKey(tenantA, "k1", at)), "CreateKey")
		mustIs(t, s.CreateKey(t.Context(), newKey(tenantA, "k1", at.Add(time.Hour))), ports.ErrConflict, "CreateKey again")
	})

	t.Run("keys are listed per tenant and the same kid may exist in two tenants", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		a := newKey(tenantA, "k1", at)
		b := newKey(tenantB, "k1", at.Add(time.Second))
		b.Algorithm = "EdDSA"
		mustNil(t, s.CreateKey(t.Context(), a), "CreateKey a")
		mustNil(t, s.CreateKey(t.Context(), b), "CreateKey b")
		for _, want := range []*ports.SigningKey{a, b} {
			got, err := s.ListKeys(t.Context(), want.Tenant)
			mustNil(t, err, "ListKeys "+want.Tenant)
			if len(got) != 1 {
				t.Fatalf("ListKeys(%s) returned %d keys, want 1", want.Tenant, len(got))
			}
			checkEqual(t, want, got[0])
		}
	})

	t.Run("update replaces the schedule and keeps the key material", func(t *testing.T) {
		at := baseTime()
		tests := []struct {
			name   string
			create func() *ports.SigningKey
			update func(k *ports.SigningKey)
		}{
			{"retire a current key", func() *ports.SigningKey { return newKey(tenantA, "k1", at) }, func(k *ports.SigningKey) {
				k.NotBefore = at.Add(-time.Hour)
				k.RetiredAt = ptr(at.Add(time.Hour))
				k.ExpiresAt = ptr(at.Add(48 * time.Hour))
			}},
			{"reinstate a retired key", func() *ports.SigningKey {
				k := newKey(tenantA, "k1", at)
				k.RetiredAt = ptr(at.Add(time.Hour))
				k.ExpiresAt = ptr(at.Add(48 * time.Hour))
				return k
			}, func(k *ports.SigningKey) {
				k.RetiredAt = nil
				k.ExpiresAt = nil
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateKey(t.Context(), tt.create()), "CreateKey")
				mustNil(t, s.CreateKey(t.Context(), newKey(tenantA, "k2", at.Add(time.Second))), "CreateKey k2")
				want := tt.create()
				tt.update(want)
				update := *want
				// The material and creation time of the argument are
				// ignored: only the schedule moves.
				update.Algorithm = "RS256"
				update.PrivateKey = []byte("other private key")
				update.PublicJWK = []byte(`{"kty":"RSA"}`)
				update.CreatedAt = at.Add(-time.Hour)
				mustNil(t, s.UpdateKey(t.Context(), &update), "UpdateKey")
				got, err := s.ListKeys(t.Context(), tenantA)
				mustNil(t, err, "ListKeys")
				if len(got) != 2 {
					t.Fatalf("ListKeys returned %d keys, want 2", len(got))
				}
				checkEqual(t, want, got[0])
				checkEqual(t, newKey(tenantA, "k2", at.Add(time.Second)), got[1])
			})
		}
	})

	t.Run("update of an absent key returns ErrNotFound and changes nothing", func(t *testing.T) {
		at := baseTime()
		tests := []struct{ name, tenant, id string }{
			{"unknown kid", tenantA, "nobody"},
			{"kid of another tenant", tenantB, "k1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				mustNil(t, s.CreateKey(t.Context(), newKey(tenantA, "k1", at)), "CreateKey")
				k := newKey(tt.tenant, tt.id, at)
				k.RetiredAt = ptr(at)
				mustIs(t, s.UpdateKey(t.Context(), k), ports.ErrNotFound, "UpdateKey")
				for _, tenant := range []string{tenantA, tenantB} {
					got, err := s.ListKeys(t.Context(), tenant)
					mustNil(t, err, "ListKeys")
					if tenant == tenantB && len(got) != 0 {
						t.Fatalf("UpdateKey created %d keys in tenant b", len(got))
					}
					if tenant == tenantA {
						if len(got) != 1 {
							t.Fatalf("ListKeys returned %d keys, want 1", len(got))
						}
						checkEqual(t, newKey(tenantA, "k1", at), got[0])
					}
				}
			})
		}
	})

	t.Run("list of a tenant without keys is empty", func(t *testing.T) {
		s := open(t)
		mustNil(t, s.CreateKey(t.Context(), newKey(tenantA, "k1", baseTime())), "CreateKey")
		got, err := s.ListKeys(t.Context(), "tenant-without-keys")
		mustNil(t, err, "ListKeys")
		if len(got) != 0 {
			t.Fatalf("ListKeys returned %d keys, want none", len(got))
		}
	})
}
