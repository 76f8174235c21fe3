package app

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
	mongostore "oauth2-server.dev/storage/mongo"
	sqlstore "oauth2-server.dev/storage/sql"
)

// Store is a storage backend as the server runs it: every port, plus the
// schema migrations the migrate command applies and lists. SQLite and
// PostgreSQL (sqlstore) and MongoDB (mongostore) each provide one.
type Store interface {
	ports.Store
	// Migrate applies every pending migration; running it again, or from
	// several replicas at once, is safe.
	Migrate(ctx context.Context) error
	// MigrationStatus lists every migration the build knows and whether
	// the database has it.
	MigrationStatus(ctx context.Context) ([]MigrationState, error)
}

// MigrationState is one known migration and whether the database has it.
type MigrationState struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time // zero while pending
}

// sqlStore and mongoStore adapt the backends, whose migration states are
// their own types, to Store.
type (
	sqlStore   struct{ *sqlstore.Store }
	mongoStore struct{ *mongostore.Store }
)

var (
	_ Store = sqlStore{}
	_ Store = mongoStore{}
)

func (s sqlStore) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	return convertStates(s.Store.MigrationStatus(ctx))
}

func (s mongoStore) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	return convertStates(s.Store.MigrationStatus(ctx))
}

// convertStates turns a backend's migration states, which have the same
// fields as MigrationState, into the server's.
func convertStates[S ~struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time
}](states []S, err error) ([]MigrationState, error) {
	if err != nil {
		return nil, err
	}
	out := make([]MigrationState, len(states))
	for i, m := range states {
		out[i] = MigrationState(m)
	}
	return out, nil
}
