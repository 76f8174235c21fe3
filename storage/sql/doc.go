// Package sqlstore is the SQL room of the storage wing: one ports.Store
// implementation for SQLite (modernc.org/sqlite, pure Go, the embedded
// default) and PostgreSQL (pgx v5 through database/sql), with the embedded,
// versioned migrations that create its schema.
//
// It may import ports, the two drivers and the standard library, nothing
// else of the server. Everything the rest of the server sees is ports types
// and ports sentinel errors: driver errors, SQL types and placeholders stay
// inside this package. Both dialects share every query and every code path;
// the differences (placeholder style, timestamp and byte column types, how
// a write transaction takes its lock, how migrations are serialised) are
// confined to dialect.go, open.go and migrate.go.
package sqlstore
