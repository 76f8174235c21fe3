package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"oauth2-server.dev/ports"
)

// Store is a ports.Store backed by SQLite or PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	// db serves reads; on PostgreSQL it serves writes too. On SQLite its
	// connections are query-only, and every write goes through wdb, the
	// single connection of the writer.
	db      *sql.DB
	wdb     *sql.DB
	w       *writer
	pool    *pgxpool.Pool // PostgreSQL only; db draws its connections from it
	dialect Dialect
	// stmts holds the statements prepared on SQLite's connections.
	stmts stmtCache
	// onEvents is told about every commit that stored events.
	onEvents eventHook
	// appendLease, when positive, is the lease (a time.Duration) events
	// are stored under (LeaseOnAppend); discardEvents keeps them out of
	// the outbox (DiscardEvents).
	appendLease   atomic.Int64
	discardEvents atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

var _ ports.Store = (*Store)(nil)

// Options tunes the connection pool. The zero value is a sensible default
// for both dialects.
type Options struct {
	// MaxOpenConns caps open connections. Zero means 4 on SQLite and, on
	// PostgreSQL, pgxpool's default: pool_max_conns from the URL, else the
	// larger of 4 and the number of CPUs.
	MaxOpenConns int
	// MinConns is how many PostgreSQL connections the pool keeps open
	// while idle. Zero means pool_min_conns from the URL, else none. SQLite
	// ignores it: its connections are files, not sockets.
	MinConns int
	// ConnMaxLifetime closes connections older than this, so that
	// PostgreSQL replicas behind a load balancer get rebalanced. Zero means
	// one hour on PostgreSQL (pgxpool's default) and no limit on SQLite.
	ConnMaxLifetime time.Duration
	// StatementTimeout makes PostgreSQL cancel any statement that runs
	// longer, sent as the statement_timeout runtime parameter. Zero leaves
	// the server's setting. SQLite ignores it; its statements end with the
	// caller's context.
	StatementTimeout time.Duration
}

// defaultSQLiteConns is the SQLite read connection cap when
// Options.MaxOpenConns is zero: WAL readers proceed beside the writer and
// each other. Writes have a connection of their own.
const defaultSQLiteConns = 4

// postgresWriters is how many transactions of grouped changes the writer
// runs at once on PostgreSQL, which, unlike SQLite, commits several
// transactions in parallel.
const postgresWriters = 8

// sqliteBusyTimeout is how long a SQLite connection waits for the write
// lock before giving up with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// Open connects to the database named by databaseURL and checks that it
// answers:
//
//	sqlite:PATH        a SQLite file, created with its parent directory
//	                   if missing
//	postgres://...     PostgreSQL, in any form pgx accepts, including
//	postgresql://...   pool_* and runtime parameters in the query
//
// It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	if opts.MaxOpenConns < 0 || opts.MinConns < 0 || opts.ConnMaxLifetime < 0 || opts.StatementTimeout < 0 {
		return nil, errors.New("sqlstore: open: negative pool option")
	}
	var (
		s   *Store
		err error
	)
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		s, err = openSQLite(strings.TrimPrefix(databaseURL, "sqlite:"), opts)
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		s, err = openPostgres(ctx, databaseURL, opts)
	default:
		// Only the scheme is echoed: the rest of a URL may hold a password.
		scheme, _, _ := strings.Cut(databaseURL, ":")
		return nil, fmt.Errorf("sqlstore: open: unsupported database URL scheme %q: want sqlite:PATH, postgres:// or postgresql://", scheme)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close() // the ping's error is the one to report
		return nil, err
	}
	return s, nil
}

func openSQLite(path string, opts Options) (*Store, error) {
	switch {
	case path == "":
		return nil, errors.New("sqlstore: open: sqlite: empty path")
	case strings.Contains(path, ":memory:"):
		// Every pooled connection would get a database of its own.
		return nil, errors.New("sqlstore: open: sqlite: in-memory databases are not supported, give a file path")
	case strings.Contains(path, "?"):
		// The driver reads everything after '?' as its own parameters.
		return nil, fmt.Errorf("sqlstore: open: sqlite: path %q must not contain '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlstore: open: sqlite: %w", err)
	}

	params := url.Values{}
	// busy_timeout is applied first by the driver, so the pragmas after it
	// already wait for a lock instead of failing. Within this process
	// writes never wait on each other (one connection writes); the lock is
	// contended only by other processes on the same file, such as the
	// command line.
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	params.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the write-ahead log at every commit, so a committed
	// change survives a power loss, not only a crash of the process; the
	// writer's group commit shares each sync among all the changes of a
	// transaction.
	params.Add("_pragma", "synchronous(FULL)")
	params.Add("_pragma", "foreign_keys(1)")
	// The writer isolates each change of a transaction in a savepoint,
	// whose undo pages SQLite keeps in a temporary file unless told to
	// keep them in memory; they never outlive the transaction.
	params.Add("_pragma", "temp_store(MEMORY)")
	// A deferred transaction that reads and then writes cannot wait for the
	// write lock: SQLite fails it with SQLITE_BUSY at once, since waiting
	// could deadlock. BEGIN IMMEDIATE takes the lock up front, where
	// busy_timeout applies.
	params.Set("_txlock", "immediate")

	wdb, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(opts.ConnMaxLifetime)

	params.Del("_txlock")
	// Readers cannot write by mistake: a write must go through the writer.
	params.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		_ = wdb.Close() // nothing was written through it yet
		return nil, fmt.Errorf("sqlstore: open: sqlite: %w", err)
	}
	conns := opts.MaxOpenConns
	if conns == 0 {
		conns = defaultSQLiteConns
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	s := &Store{db: db, wdb: wdb, dialect: SQLite}
	s.w = newWriter(s, wdb, 1)
	return s, nil
}

func openPostgres(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: postgres: %w", err)
	}
	if opts.MaxOpenConns > 0 {
		cfg.MaxConns = int32(min(opts.MaxOpenConns, 1<<31-1))
	}
	if opts.MinConns > 0 {
		cfg.MinConns = int32(min(opts.MinConns, 1<<31-1))
	}
	if opts.ConnMaxLifetime > 0 {
		cfg.MaxConnLifetime = opts.ConnMaxLifetime
	}
	if opts.StatementTimeout > 0 {
		// Rounded up: a sub-millisecond timeout must not become 0, which
		// PostgreSQL reads as no timeout at all.
		ms := (opts.StatementTimeout + time.Millisecond - 1) / time.Millisecond
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(int64(ms), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql queues for a connection instead of pgxpool, so that its
	// wait statistics (db.Stats) tell the truth.
	db.SetMaxOpenConns(int(cfg.MaxConns))
	s := &Store{db: db, wdb: db, pool: pool, dialect: Postgres}
	s.w = newWriter(s, db, max(1, min(postgresWriters, int(cfg.MaxConns)/2)))
	return s, nil
}

// Dialect reports which database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return translate("ping", s.db.PingContext(ctx))
}

// Close lets the changes in flight commit, then releases every
// connection. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.w.close()
		s.stmts.close()
		err := s.db.Close()
		if s.wdb != s.db {
			err = errors.Join(err, s.wdb.Close())
		}
		s.closeErr = translate("close", err)
		if s.pool != nil {
			s.pool.Close()
		}
	})
	return s.closeErr
}
