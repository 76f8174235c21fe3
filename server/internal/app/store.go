package app

import (
	"context"
	"log/slog"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
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

// guardStore puts every call to st, the engine's, the handlers', the
// signing keys' and the event relay's, behind one circuit breaker, each call with its own
// deadline of limit: a store that fails or stops answering costs a
// request at most limit, and once the breaker has opened, nothing, 503 at
// once. The breaker's opening and closing are logged, once each per
// outage.
func guardStore(st ports.Store, limit time.Duration, rm *resilience.Metrics, log *slog.Logger) (ports.Store, *resilience.Breaker) {
	b := resilience.NewBreaker(resilience.BreakerSettings{
		Name: "store", Metrics: rm,
		OnStateChange: func(name string, from, to resilience.State) {
			// A failed probe takes a half-open breaker back to open: the
			// same outage, not worth another line.
			switch {
			case from == resilience.StateClosed && to == resilience.StateOpen:
				log.Warn("store unavailable: its calls fail at once until it answers again", "breaker", name)
			case to == resilience.StateClosed:
				log.Info("store answering again", "breaker", name)
			}
		},
	})
	return resilience.WrapStore(st, b, limit), b
}
