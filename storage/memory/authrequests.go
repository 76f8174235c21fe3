package memory

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// copyAuthRequest is r as the store keeps and returns it.
func copyAuthRequest(r *ports.AuthRequest) *ports.AuthRequest {
	c := *r
	c.CreatedAt, c.ExpiresAt = ts(r.CreatedAt), ts(r.ExpiresAt)
	return &c
}

// CreateAuthRequest stores a request. ErrConflict if the id exists.
func (s *Store) CreateAuthRequest(ctx context.Context, r *ports.AuthRequest) error {
	return s.write(ctx, "CreateAuthRequest", nil, func() ([]ports.Event, func(), error) {
		k := key{r.Tenant, r.ID}
		if s.authRequests[k] != nil {
			return nil, nil, ports.ErrConflict
		}
		stored := copyAuthRequest(r)
		return nil, func() { s.authRequests[k] = stored }, nil
	})
}

// GetAuthRequest returns the request. ErrNotFound if absent or expired at
// now.
func (s *Store) GetAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	var out *ports.AuthRequest
	err := s.read(ctx, "GetAuthRequest", func() error {
		r := s.authRequests[key{tenant, id}]
		if r == nil || !live(r.ExpiresAt, now) {
			return errorf("GetAuthRequest", ports.ErrNotFound)
		}
		out = copyAuthRequest(r)
		return nil
	})
	return out, err
}

// ConsumeAuthRequest deletes the request and returns it in one change, so
// that of concurrent calls exactly one gets it (single-use request_uri,
// RFC 9126 §2.2). ErrNotFound if absent or expired at now.
func (s *Store) ConsumeAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	var out *ports.AuthRequest
	err := s.write(ctx, "ConsumeAuthRequest", nil, func() ([]ports.Event, func(), error) {
		k := key{tenant, id}
		r := s.authRequests[k]
		if r == nil || !live(r.ExpiresAt, now) {
			return nil, nil, ports.ErrNotFound
		}
		return nil, func() {
			out = copyAuthRequest(r)
			delete(s.authRequests, k)
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAuthRequest removes the request; deleting an absent request is not
// an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, tenant, id string) error {
	return s.write(ctx, "DeleteAuthRequest", nil, func() ([]ports.Event, func(), error) {
		return nil, func() { delete(s.authRequests, key{tenant, id}) }, nil
	})
}
