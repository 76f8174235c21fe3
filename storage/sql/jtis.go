package sqlstore

import (
	"context"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

// The upsert decides the race in one statement: a new key is inserted, a
// key whose row expired at now is overwritten, and a live key matches the
// conflict but not the WHERE, so no row changes. Concurrent uses of one
// key serialise on its primary key, and only the first sees a row it may
// take.
var qUseJTI = newQuery(`INSERT INTO jtis (tenant, jti_key, expires_at) VALUES (?, ?, ?)
	ON CONFLICT (tenant, jti_key) DO UPDATE SET expires_at = excluded.expires_at
	WHERE jtis.expires_at <= ?`)

// UseJTI records key as used until expiresAt. ErrAlreadyUsed if the key is
// recorded and not expired at now; a record expired at now is replaced.
func (s *Store) UseJTI(ctx context.Context, tenant, key string, expiresAt, now time.Time) error {
	n, err := s.execCount(ctx, "use jti", qUseJTI, tenant, key, s.timeArg(expiresAt), s.timeArg(now))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: use jti: %w", ports.ErrAlreadyUsed)
	}
	return nil
}
