package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MigrationState is one known migration and whether the database has it.
type MigrationState struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time // zero while pending
}

// migration is one version of the schema. apply must be idempotent: two
// replicas may run it at once, and a migrator that dies after apply but
// before recording the version runs it again.
type migration struct {
	version int
	name    string
	apply   func(ctx context.Context, db *mongo.Database) error
}

// migrations is the schema history in version order. Released entries are
// never edited; a change is a new entry.
var migrations = []migration{
	{1, "init", func(ctx context.Context, db *mongo.Database) error { return createIndexes(ctx, db, initIndexes) }},
	{2, "event_outbox", func(ctx context.Context, db *mongo.Database) error { return createIndexes(ctx, db, outboxIndexes) }},
	{3, "tokens_by_client", func(ctx context.Context, db *mongo.Database) error { return createIndexes(ctx, db, clientTokenIndexes) }},
	{4, "ciba_requests", func(ctx context.Context, db *mongo.Database) error { return createIndexes(ctx, db, cibaIndexes) }},
	{5, "users_deletion", func(ctx context.Context, db *mongo.Database) error {
		return createIndexes(ctx, db, userDeletionIndexes)
	}},
}

// indexSpec describes an index. The driver's IndexModel is built afresh
// for each creation: the driver writes to a model's options while it
// creates the index, so a model shared by migrations running at once in
// one process would be a data race.
type indexSpec struct {
	name   string
	keys   []string
	unique bool
}

func unique(name string, keys ...string) indexSpec {
	return indexSpec{name: name, keys: keys, unique: true}
}

func index(name string, keys ...string) indexSpec {
	return indexSpec{name: name, keys: keys}
}

func (s indexSpec) model() mongo.IndexModel {
	opts := options.Index().SetName(s.name)
	if s.unique {
		opts.SetUnique(true)
	}
	return mongo.IndexModel{Keys: keyDoc(s.keys), Options: opts}
}

func keyDoc(keys []string) bson.D {
	d := make(bson.D, len(keys))
	for i, k := range keys {
		d[i] = bson.E{Key: k, Value: 1}
	}
	return d
}

// initIndexes are the first schema's indexes, by collection. Unique keys
// start with the tenant so that tenants never collide; expires_at indexes
// serve PurgeExpired across tenants.
var initIndexes = map[string][]indexSpec{
	collClients: {unique("tenant_id", "tenant", "id")},
	collUsers: {
		unique("tenant_id", "tenant", "id"),
		unique("tenant_username", "tenant", "username"),
	},
	collAuthRequests: {unique("tenant_id", "tenant", "id"), index("expires_at", "expires_at")},
	collAuthCodes:    {unique("tenant_hash", "tenant", "hash"), index("expires_at", "expires_at")},
	collTokens: {
		unique("tenant_id", "tenant", "id"),
		// Replay detection and logout revoke a grant as a whole; logout
		// also lists the clients of a session.
		index("tenant_grant", "tenant", "grant_id"),
		index("tenant_session", "tenant", "session_id"),
		index("expires_at", "expires_at"),
	},
	collSessions: {unique("tenant_id", "tenant", "id"), index("expires_at", "expires_at")},
	collConsents: {unique("tenant_user_client", "tenant", "user_id", "client_id")},
	collKeys:     {unique("tenant_id", "tenant", "id")},
	collJTIs:     {unique("tenant_key", "tenant", "key"), index("expires_at", "expires_at")},
	collDeviceCodes: {
		unique("tenant_hash", "tenant", "hash"),
		unique("tenant_user_code", "tenant", "user_code"),
		index("expires_at", "expires_at"),
	},
	collClaims: {unique("tenant_kind_key", "tenant", "kind", "key"), index("kind_expires_at", "kind", "expires_at")},
}

// outboxIndexes make an event id and a lease on it unique. Unlike every
// other key they do not start with the tenant: event ids are random and
// global, and AckEvents names events by id alone. Append order is the _id
// order, which the _id index serves.
var outboxIndexes = map[string][]indexSpec{
	collEventOutbox: {unique("id", "id")},
	collEventLeases: {unique("id", "id")},
}

// userDeletionIndexes serve DeleteUser: every token issued for the user,
// and the user's sessions, are found by the user.
var userDeletionIndexes = map[string][]indexSpec{
	collTokens:   {index("tenant_subject", "tenant", "subject")},
	collSessions: {index("tenant_user", "tenant", "user_id")},
}

// clientTokenIndexes serve RevokeClientTokens: RFC 7592 §2.3, deleting a
// client registration revokes every token issued to the client.
var clientTokenIndexes = map[string][]indexSpec{
	collTokens: {index("tenant_client", "tenant", "client_id")},
}

// cibaIndexes serve backchannel authentication requests (OpenID Connect
// CIBA): the client finds a request by the hash of its auth_req_id, the
// person's device by the hash of its decision id, and both are unique.
var cibaIndexes = map[string][]indexSpec{
	collCIBARequests: {
		unique("tenant_hash", "tenant", "hash"),
		unique("tenant_decision_hash", "tenant", "decision_hash"),
		index("expires_at", "expires_at"),
	},
}

// createIndexes creates the indexes, and with them their collections.
// Creating an index that exists with the same name and keys is a no-op.
// Each index is its own command: FerretDB v1 fails a createIndexes that
// names several existing indexes at once, which a second migrator does.
func createIndexes(ctx context.Context, db *mongo.Database, byColl map[string][]indexSpec) error {
	for coll, models := range byColl {
		for _, spec := range models {
			if _, err := db.Collection(coll).Indexes().CreateOne(ctx, spec.model()); err != nil {
				return fmt.Errorf("index %s %v of %s: %w", spec.name, spec.keys, coll, err)
			}
		}
	}
	return nil
}

// migrationTimeout bounds a migration run without a deadline of its own.
// Building an index on a large collection may take longer than the
// operation timeout meant for requests, and a deadline on the context
// takes precedence over it.
const migrationTimeout = 30 * time.Minute

type migrationDoc struct {
	Version   int    `bson:"_id"`
	Name      string `bson:"name"`
	AppliedAt int64  `bson:"applied_at"`
}

// Migrate applies every pending migration in version order and records
// each in schema_migrations. It is safe to run again and from several
// processes at once: migrations are idempotent, and recording a version
// twice finds the first record.
func (s *Store) Migrate(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, migrationTimeout)
		defer cancel()
	}
	for _, m := range migrations {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("mongostore: migrate %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	n, err := s.migrations.CountDocuments(ctx, bson.M{"_id": m.version})
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if err := m.apply(ctx, s.db); err != nil {
		return err
	}
	_, err = s.migrations.InsertOne(ctx, migrationDoc{Version: m.version, Name: m.name, AppliedAt: micros(time.Now())})
	if mongo.IsDuplicateKeyError(err) {
		// Another replica applied it at the same time.
		return nil
	}
	return err
}

// MigrationStatus lists every migration this build knows, in version
// order, with whether and when the database applied it. It changes
// nothing, so it can run before Migrate.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	cur, err := s.migrations.Find(ctx, bson.M{})
	if err != nil {
		return nil, fmt.Errorf("mongostore: migration status: %w", err)
	}
	var docs []migrationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("mongostore: migration status: %w", err)
	}
	applied := make(map[int]time.Time, len(docs))
	for _, d := range docs {
		applied[d.Version] = fromMicros(d.AppliedAt)
	}
	states := make([]MigrationState, len(migrations))
	for i, m := range migrations {
		at, ok := applied[m.version]
		states[i] = MigrationState{Version: m.version, Name: m.name, Applied: ok, AppliedAt: at}
	}
	return states, nil
}
