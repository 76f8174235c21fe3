package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// migrationFiles holds the schema history, one file per version named
// NNNN_name.sql. Files are never edited once released; a change is a new
// file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// MigrationState is one known migration and whether the database has it.
type MigrationState struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time // zero while pending
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrations parses the embedded files once.
var migrations = sync.OnceValues(func() ([]migration, error) {
	return parseMigrations(migrationFiles, "migrations")
})

func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok || e.IsDir() {
			continue
		}
		num, name, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 || name == "" {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, name: name, sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("two migrations have version %d", ms[i].version)
		}
	}
	return ms, nil
}

// migrationLockKey is the PostgreSQL advisory lock that serialises
// migrators; any constant no other application in the database uses will
// do. It spells "oauth2_m" in ASCII.
const migrationLockKey int64 = 0x6f61757468325f6d

var (
	createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at ${TIMESTAMP} NOT NULL
)`
	qMigrationApplied  = newQuery(`SELECT count(*) FROM schema_migrations WHERE version = ?`)
	qRecordMigration   = newQuery(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`)
	qAppliedMigrations = newQuery(`SELECT version, applied_at FROM schema_migrations`)
)

// Migrate applies every pending migration in version order, each in its
// own transaction together with its schema_migrations row. It is safe to
// run again and safe to run from several processes at once: on PostgreSQL
// each migration transaction first takes an advisory lock, on SQLite the
// transaction's BEGIN IMMEDIATE takes the database's write lock, and
// either way the version is checked again under the lock.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlstore: migrate %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	// On the write connection: SQLite's read connections are query-only.
	// Outside the writer, which holds no transaction open between changes,
	// so the two take turns on the connection.
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if s.dialect == Postgres {
		// The transaction-level lock is released by commit or rollback, so
		// a migrator that dies cannot leave it held on a pooled
		// connection. A migration may outlast the statement timeout meant
		// for requests, and so may the wait for another replica's.
		if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, columnTypes[s.dialect].Replace(createSchemaMigrations)); err != nil {
		return err
	}
	var applied int
	if err := tx.QueryRowContext(ctx, s.sqlFor(qMigrationApplied), m.version).Scan(&applied); err != nil {
		return err
	}
	if applied > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, columnTypes[s.dialect].Replace(m.sql)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.sqlFor(qRecordMigration), m.version, m.name, s.timeArg(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// MigrationStatus lists every migration this build knows, in version
// order, with whether and when the database applied it. It changes
// nothing, so it can run before Migrate.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	ms, err := migrations()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	states := make([]MigrationState, len(ms))
	for i, m := range ms {
		at, ok := applied[m.version]
		states[i] = MigrationState{Version: m.version, Name: m.name, Applied: ok, AppliedAt: at}
	}
	return states, nil
}

func (s *Store) appliedMigrations(ctx context.Context) (map[int]time.Time, error) {
	exists := `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')`
	if s.dialect == Postgres {
		exists = `SELECT to_regclass('schema_migrations') IS NOT NULL`
	}
	var ok bool
	if err := s.db.QueryRowContext(ctx, exists).Scan(&ok); err != nil {
		return nil, err
	}
	applied := map[int]time.Time{}
	if !ok {
		return applied, nil
	}
	rows, err := s.db.QueryContext(ctx, s.sqlFor(qAppliedMigrations))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			version int
			at      time.Time
		)
		if err := rows.Scan(&version, timeCol{&at}); err != nil {
			return nil, err
		}
		applied[version] = at
	}
	return applied, rows.Err()
}
