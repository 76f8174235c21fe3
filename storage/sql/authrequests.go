package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"oauth2-server.dev/ports"
)

const authRequestColumns = `tenant, id, client_id, params, created_at, expires_at`

var (
	qCreateAuthRequest = newQuery(`INSERT INTO auth_requests
	(` + authRequestColumns + `) VALUES (?, ?, ?, ?, ?, ?)`)
	qGetAuthRequest = newQuery(`SELECT ` + authRequestColumns + `
	FROM auth_requests WHERE tenant = ? AND id = ? AND expires_at > ?`)
	// Concurrent deletes of one row serialise on it; only the first finds
	// it to return.
	qConsumeAuthRequest = newQuery(`DELETE FROM auth_requests WHERE tenant = ? AND id = ? AND expires_at > ?
	RETURNING ` + authRequestColumns)
	qDeleteAuthRequest = newQuery(`DELETE FROM auth_requests WHERE tenant = ? AND id = ?`)
)

func scanAuthRequest(row scanner) (*ports.AuthRequest, error) {
	var r ports.AuthRequest
	err := row.Scan(&r.Tenant, &r.ID, &r.ClientID, &r.Params, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// CreateAuthRequest stores a request. ErrConflict if the id exists.
func (s *Store) CreateAuthRequest(ctx context.Context, r *ports.AuthRequest) error {
	return s.exec(ctx, "create auth request", nil, qCreateAuthRequest,
		r.Tenant, r.ID, r.ClientID, r.Params, s.timeArg(r.CreatedAt), s.timeArg(r.ExpiresAt))
}

// GetAuthRequest returns the request. ErrNotFound if absent or expired at
// now.
func (s *Store) GetAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	r, err := scanAuthRequest(s.queryRow(ctx, qGetAuthRequest, tenant, id, s.timeArg(now)))
	if err != nil {
		return nil, translate("get auth request", err)
	}
	return r, nil
}

// ConsumeAuthRequest deletes the request and returns it in one statement,
// so that of concurrent calls exactly one gets it (single-use request_uri,
// RFC 9126 §2.2). ErrNotFound if absent or expired at now.
func (s *Store) ConsumeAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	var r *ports.AuthRequest
	err := s.write(ctx, "consume auth request", func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		var err error
		r, err = scanAuthRequest(s.txQueryRow(ctx, tx, qConsumeAuthRequest, tenant, id, s.timeArg(now)))
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteAuthRequest removes the request; deleting an absent request is not
// an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, tenant, id string) error {
	return s.exec(ctx, "delete auth request", nil, qDeleteAuthRequest, tenant, id)
}
