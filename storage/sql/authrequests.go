package sqlstore

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

var (
	qCreateAuthRequest = newQuery(`INSERT INTO auth_requests
	(tenant, id, client_id, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
	qGetAuthRequest = newQuery(`SELECT tenant, id, client_id, params, created_at, expires_at
	FROM auth_requests WHERE tenant = ? AND id = ? AND expires_at > ?`)
	qDeleteAuthRequest = newQuery(`DELETE FROM auth_requests WHERE tenant = ? AND id = ?`)
)

// CreateAuthRequest stores a request. ErrConflict if the id exists.
func (s *Store) CreateAuthRequest(ctx context.Context, r *ports.AuthRequest) error {
	_, err := s.db.ExecContext(ctx, s.sqlFor(qCreateAuthRequest),
		r.Tenant, r.ID, r.ClientID, r.Params, s.timeArg(r.CreatedAt), s.timeArg(r.ExpiresAt))
	return translate("create auth request", err)
}

// GetAuthRequest returns the request. ErrNotFound if absent or expired at
// now.
func (s *Store) GetAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	var r ports.AuthRequest
	err := s.db.QueryRowContext(ctx, s.sqlFor(qGetAuthRequest), tenant, id, s.timeArg(now)).
		Scan(&r.Tenant, &r.ID, &r.ClientID, &r.Params, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt})
	if err != nil {
		return nil, translate("get auth request", err)
	}
	return &r, nil
}

// DeleteAuthRequest removes the request; deleting an absent request is not
// an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, tenant, id string) error {
	_, err := s.db.ExecContext(ctx, s.sqlFor(qDeleteAuthRequest), tenant, id)
	return translate("delete auth request", err)
}
