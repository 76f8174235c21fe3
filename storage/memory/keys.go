package memory

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"oauth2-server.dev/ports"
)

// copyKey is k as the store keeps and returns it.
func copyKey(k *ports.SigningKey) *ports.SigningKey {
	c := *k
	c.PrivateKey, c.PublicJWK = bytes.Clone(k.PrivateKey), bytes.Clone(k.PublicJWK)
	c.CreatedAt, c.NotBefore = ts(k.CreatedAt), ts(k.NotBefore)
	c.RetiredAt, c.ExpiresAt = tsp(k.RetiredAt), tsp(k.ExpiresAt)
	return &c
}

// CreateKey stores a new key. ErrConflict if the kid exists.
func (s *Store) CreateKey(ctx context.Context, k *ports.SigningKey, evs ...ports.Event) error {
	return s.write(ctx, "CreateKey", evs, func() ([]ports.Event, func(), error) {
		id := key{k.Tenant, k.ID}
		if s.keys[id] != nil {
			return nil, nil, ports.ErrConflict
		}
		stored := copyKey(k)
		return evs, func() { s.keys[id] = stored }, nil
	})
}

// UpdateKey replaces the NotBefore, RetiredAt and ExpiresAt of an existing
// key; the key material never changes. ErrNotFound if absent.
func (s *Store) UpdateKey(ctx context.Context, k *ports.SigningKey) error {
	return s.write(ctx, "UpdateKey", nil, func() ([]ports.Event, func(), error) {
		stored := s.keys[key{k.Tenant, k.ID}]
		if stored == nil {
			return nil, nil, ports.ErrNotFound
		}
		notBefore, retiredAt, expiresAt := ts(k.NotBefore), tsp(k.RetiredAt), tsp(k.ExpiresAt)
		return nil, func() {
			stored.NotBefore, stored.RetiredAt, stored.ExpiresAt = notBefore, retiredAt, expiresAt
		}, nil
	})
}

// ListKeys returns the tenant's keys, oldest first; keys created in the
// same microsecond are ordered by id.
func (s *Store) ListKeys(ctx context.Context, tenant string) ([]*ports.SigningKey, error) {
	var out []*ports.SigningKey
	err := s.read(ctx, "ListKeys", func() error {
		for id, k := range s.keys {
			if id.tenant == tenant {
				out = append(out, copyKey(k))
			}
		}
		slices.SortFunc(out, func(a, b *ports.SigningKey) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		return nil
	})
	return out, err
}
