package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"oauth2-server.dev/ports"
)

const clientColumns = `tenant, id, secret_hash, registration_token_hash, secret_sealed, name,
	redirect_uris, grant_types, response_types, scope, token_endpoint_auth,
	application_type, access_token_format, metadata, created_at, updated_at`

var (
	qCreateClient = newQuery(`INSERT INTO clients (` + clientColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetClient    = newQuery(`SELECT ` + clientColumns + ` FROM clients WHERE tenant = ? AND id = ?`)
	qUpdateClient = newQuery(`UPDATE clients SET secret_hash = ?, registration_token_hash = ?, secret_sealed = ?, name = ?,
	redirect_uris = ?, grant_types = ?, response_types = ?, scope = ?, token_endpoint_auth = ?,
	application_type = ?, access_token_format = ?, metadata = ?, created_at = ?, updated_at = ?
	WHERE tenant = ? AND id = ?`)
	qDeleteClient = newQuery(`DELETE FROM clients WHERE tenant = ? AND id = ?`)
	qListClients  = newQuery(`SELECT ` + clientColumns + ` FROM clients WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`)
)

// clientValues returns the client's columns after tenant and id, in
// clientColumns order.
func (s *Store) clientValues(c *ports.Client) ([]any, error) {
	lists := make([]any, 3)
	for i, l := range [][]string{c.RedirectURIs, c.GrantTypes, c.ResponseTypes} {
		v, err := encodeList(l)
		if err != nil {
			return nil, err
		}
		lists[i] = v
	}
	return []any{
		c.SecretHash, c.RegistrationTokenHash, nullBytesArg(c.SecretSealed), c.Name,
		lists[0], lists[1], lists[2], c.Scope, c.TokenEndpointAuth,
		c.ApplicationType, c.AccessTokenFormat, bytesArg(c.Metadata),
		s.timeArg(c.CreatedAt), s.timeArg(c.UpdatedAt),
	}, nil
}

func scanClient(row scanner) (*ports.Client, error) {
	var (
		c                               ports.Client
		redirectURIs, grants, respTypes string
	)
	err := row.Scan(&c.Tenant, &c.ID, &c.SecretHash, &c.RegistrationTokenHash, &c.SecretSealed, &c.Name,
		&redirectURIs, &grants, &respTypes, &c.Scope, &c.TokenEndpointAuth,
		&c.ApplicationType, &c.AccessTokenFormat, &c.Metadata,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	if err != nil {
		return nil, err
	}
	if c.RedirectURIs, err = decodeList(redirectURIs); err != nil {
		return nil, err
	}
	if c.GrantTypes, err = decodeList(grants); err != nil {
		return nil, err
	}
	if c.ResponseTypes, err = decodeList(respTypes); err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateClient stores a new client. ErrConflict if the id is taken in the
// tenant.
func (s *Store) CreateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	values, err := s.clientValues(c)
	if err != nil {
		return translate("create client", err)
	}
	return s.exec(ctx, "create client", evs, qCreateClient, append([]any{c.Tenant, c.ID}, values...)...)
}

// GetClient returns the client. ErrNotFound if absent.
func (s *Store) GetClient(ctx context.Context, tenant, id string) (*ports.Client, error) {
	c, err := scanClient(s.queryRow(ctx, qGetClient, tenant, id))
	if err != nil {
		return nil, translate("get client", err)
	}
	return c, nil
}

// UpdateClient replaces every field of an existing client. ErrNotFound if
// absent.
func (s *Store) UpdateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	values, err := s.clientValues(c)
	if err != nil {
		return translate("update client", err)
	}
	return s.execOne(ctx, "update client", evs, qUpdateClient, append(values, c.Tenant, c.ID)...)
}

// DeleteClient removes the client. ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return s.execOne(ctx, "delete client", evs, qDeleteClient, tenant, id)
}

// ListClients returns the tenant's clients ordered by id, byte by byte,
// the part of them page selects.
func (s *Store) ListClients(ctx context.Context, tenant string, page ports.Page) ([]*ports.Client, error) {
	rows, err := s.query(ctx, qListClients, tenant, page.After, limitArg(page))
	if err != nil {
		return nil, translate("list clients", err)
	}
	clients, err := collect(rows, scanClient)
	if err != nil {
		return nil, translate("list clients", err)
	}
	return clients, nil
}

// execOne is exec for a statement that must match exactly one row:
// ErrNotFound, and nothing stored, if it matches none.
func (s *Store) execOne(ctx context.Context, op string, evs []ports.Event, q query, args ...any) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		res, err := s.txExec(ctx, tx, q, args...)
		return evs, oneRow(res, err)
	})
}

// oneRow turns an update or delete that matched no row into sql.ErrNoRows,
// which translate reports as ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
