package sqlstore

import (
	"context"

	"oauth2-server.dev/ports"
)

const keyColumns = `tenant, id, algorithm, private_key, public_jwk, created_at, not_before, retired_at, expires_at`

var (
	qCreateKey = newQuery(`INSERT INTO signing_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qUpdateKey = newQuery(`UPDATE signing_keys SET not_before = ?, retired_at = ?, expires_at = ?
	WHERE tenant = ? AND id = ?`)
	// id breaks ties so that keys created in the same microsecond still
	// list in a stable order.
	qListKeys = newQuery(`SELECT ` + keyColumns + ` FROM signing_keys WHERE tenant = ? ORDER BY created_at, id`)
)

func scanKey(row scanner) (*ports.SigningKey, error) {
	var k ports.SigningKey
	err := row.Scan(&k.Tenant, &k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicJWK,
		timeCol{&k.CreatedAt}, timeCol{&k.NotBefore}, nullTimeCol{&k.RetiredAt}, nullTimeCol{&k.ExpiresAt})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// CreateKey stores a new key. ErrConflict if the kid exists.
func (s *Store) CreateKey(ctx context.Context, k *ports.SigningKey, evs ...ports.Event) error {
	return s.exec(ctx, "create key", evs, qCreateKey,
		k.Tenant, k.ID, k.Algorithm, bytesArg(k.PrivateKey), bytesArg(k.PublicJWK),
		s.timeArg(k.CreatedAt), s.timeArg(k.NotBefore), s.nullTimeArg(k.RetiredAt), s.nullTimeArg(k.ExpiresAt))
}

// UpdateKey replaces the NotBefore, RetiredAt and ExpiresAt of an existing
// key; the key material never changes. ErrNotFound if absent.
func (s *Store) UpdateKey(ctx context.Context, k *ports.SigningKey) error {
	return s.execOne(ctx, "update key", nil, qUpdateKey,
		s.timeArg(k.NotBefore), s.nullTimeArg(k.RetiredAt), s.nullTimeArg(k.ExpiresAt), k.Tenant, k.ID)
}

// ListKeys returns the tenant's keys, oldest first.
func (s *Store) ListKeys(ctx context.Context, tenant string) ([]*ports.SigningKey, error) {
	rows, err := s.query(ctx, qListKeys, tenant)
	if err != nil {
		return nil, translate("list keys", err)
	}
	keys, err := collect(rows, scanKey)
	if err != nil {
		return nil, translate("list keys", err)
	}
	return keys, nil
}
