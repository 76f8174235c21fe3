package memory

import (
	"bytes"
	"context"
	"slices"

	"oauth2-server.dev/ports"
)

// copyClient is c as the store keeps and returns it.
func copyClient(c *ports.Client) *ports.Client {
	cc := *c
	cc.SecretSealed = optionalBytes(c.SecretSealed)
	cc.RedirectURIs = slices.Clone(c.RedirectURIs)
	cc.GrantTypes = slices.Clone(c.GrantTypes)
	cc.ResponseTypes = slices.Clone(c.ResponseTypes)
	cc.Metadata = bytes.Clone(c.Metadata)
	cc.CreatedAt, cc.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	return &cc
}

// optionalBytes copies b, an empty value coming back as nil, as the SQL
// store's nullable byte columns do.
func optionalBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// CreateClient stores a new client. ErrConflict if the id is taken in the
// tenant.
func (s *Store) CreateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	return s.write(ctx, "CreateClient", evs, func() ([]ports.Event, func(), error) {
		k := key{c.Tenant, c.ID}
		if s.clients[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		stored := copyClient(c)
		return evs, func() { s.clients[k] = stored }, nil
	})
}

// GetClient returns the client. ErrNotFound if absent.
func (s *Store) GetClient(ctx context.Context, tenant, id string) (*ports.Client, error) {
	var out *ports.Client
	err := s.read(ctx, "GetClient", func() error {
		c := s.clients[key{tenant, id}]
		if c == nil {
			return errorf("GetClient", ports.ErrNotFound)
		}
		out = copyClient(c)
		return nil
	})
	return out, err
}

// UpdateClient replaces every field of an existing client, CreatedAt
// included. ErrNotFound if absent.
func (s *Store) UpdateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	return s.write(ctx, "UpdateClient", evs, func() ([]ports.Event, func(), error) {
		k := key{c.Tenant, c.ID}
		if s.clients[k] == nil {
			return nil, nil, ports.ErrNotFound
		}
		stored := copyClient(c)
		return evs, func() { s.clients[k] = stored }, nil
	})
}

// DeleteClient removes the client. ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return s.write(ctx, "DeleteClient", evs, func() ([]ports.Event, func(), error) {
		k := key{tenant, id}
		if s.clients[k] == nil {
			return nil, nil, ports.ErrNotFound
		}
		return evs, func() { delete(s.clients, k) }, nil
	})
}

// ListClients returns the tenant's clients ordered by id, byte by byte,
// the part of them page selects.
func (s *Store) ListClients(ctx context.Context, tenant string, p ports.Page) ([]*ports.Client, error) {
	var out []*ports.Client
	err := s.read(ctx, "ListClients", func() error {
		for k, c := range s.clients {
			if k.tenant == tenant {
				out = append(out, c)
			}
		}
		out = sortedPage(out, func(c *ports.Client) string { return c.ID }, p)
		for i, c := range out {
			out[i] = copyClient(c)
		}
		return nil
	})
	return out, err
}
