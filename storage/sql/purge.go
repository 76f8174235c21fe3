package sqlstore

import (
	"context"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
)

// purgeQueries holds, per kind, a DELETE of at most ? rows expired at or
// before ?. Neither dialect has DELETE ... LIMIT (SQLite only when built
// with an option modernc's build lacks), so the rows are chosen by primary
// key in a subquery, which the expires_at index serves.
var purgeQueries = func() map[string]query {
	tables := map[string]struct{ table, key string }{
		ports.PurgeAuthRequests: {"auth_requests", "tenant, id"},
		ports.PurgeAuthCodes:    {"auth_codes", "tenant, hash"},
		ports.PurgeTokens:       {"tokens", "tenant, id"},
		ports.PurgeSessions:     {"sessions", "tenant, id"},
		ports.PurgeJTIs:         {"jtis", "tenant, jti_key"},
		ports.PurgeDeviceCodes:  {"device_codes", "tenant, hash"},
		ports.PurgeCIBARequests: {"ciba_requests", "tenant, hash"},
	}
	qs := make(map[string]query, len(tables))
	for kind, t := range tables {
		qs[kind] = newQuery(`DELETE FROM ` + t.table + ` WHERE (` + t.key + `) IN (
	SELECT ` + t.key + ` FROM ` + t.table + ` WHERE expires_at <= ? LIMIT ?)`)
	}
	return qs
}()

// PurgeExpired deletes at most limit records of kind, in every tenant,
// whose expiry is at or before before, and returns how many it deleted.
func (s *Store) PurgeExpired(ctx context.Context, kind string, before time.Time, limit int) (int, error) {
	q, ok := purgeQueries[kind]
	if !ok {
		return 0, fmt.Errorf("sqlstore: purge expired: unknown kind %q", kind)
	}
	if limit < 1 {
		return 0, fmt.Errorf("sqlstore: purge expired %s: limit %d is not positive", kind, limit)
	}
	n, err := s.execCount(ctx, "purge expired "+kind, q, s.timeArg(before), limit)
	return int(n), err
}
