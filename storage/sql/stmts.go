package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps SQLite statements prepared, so that a request pays for
// executing its statements and not for parsing them. database/sql then
// prepares each statement once per connection and reuses it. PostgreSQL
// needs none of this: pgx caches prepared statements per connection by
// itself.
type stmtCache struct {
	mu    sync.RWMutex
	stmts map[stmtKey]*sql.Stmt
	// wanted are writer statements met inside a transaction before they
	// were prepared: the writer's one connection is busy with that
	// transaction then, so they are prepared once it has finished.
	wanted map[string]struct{}
}

type stmtKey struct {
	db   *sql.DB
	text string
}

// get returns q prepared on db, preparing it on first use.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, text string) (*sql.Stmt, error) {
	k := stmtKey{db, text}
	c.mu.RLock()
	st := c.stmts[k]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[k]; st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[stmtKey]*sql.Stmt{}
	}
	c.stmts[k] = st
	return st, nil
}

// lookup returns text prepared on db, or nil.
func (c *stmtCache) lookup(db *sql.DB, text string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[stmtKey{db, text}]
}

func (c *stmtCache) want(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wanted == nil {
		c.wanted = map[string]struct{}{}
	}
	c.wanted[text] = struct{}{}
}

// prepareWanted prepares on db, which must be idle, the statements want
// recorded. A statement that fails to prepare is left for the next time.
func (c *stmtCache) prepareWanted(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	texts := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	for text := range texts {
		_, _ = c.get(ctx, db, text)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		// The store closes its pools right after; their connections take
		// the statements with them.
		_ = st.Close()
	}
	c.stmts = nil
}

// txStmt returns q for use in tx, a transaction of the SQLite writer.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, q query) (*sql.Stmt, error) {
	if st := s.stmts.lookup(s.wdb, q.text); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	s.stmts.want(q.text)
	return tx.PrepareContext(ctx, q.text)
}

// txExec runs q in tx, a transaction of the writer.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, q query, args ...any) (sql.Result, error) {
	if s.dialect != SQLite {
		return tx.ExecContext(ctx, s.sqlFor(q), args...)
	}
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txQueryRow runs q in tx, a transaction of the writer.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, q query, args ...any) scanner {
	if s.dialect != SQLite {
		return tx.QueryRowContext(ctx, s.sqlFor(q), args...)
	}
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// txQuery runs q in tx, a transaction of the writer.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, q query, args ...any) (*sql.Rows, error) {
	if s.dialect != SQLite {
		return tx.QueryContext(ctx, s.sqlFor(q), args...)
	}
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs the read q on the read connections.
func (s *Store) queryRow(ctx context.Context, q query, args ...any) scanner {
	if s.dialect != SQLite {
		return s.db.QueryRowContext(ctx, s.sqlFor(q), args...)
	}
	st, err := s.stmts.get(ctx, s.db, q.text)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs the read q on the read connections.
func (s *Store) query(ctx context.Context, q query, args ...any) (*sql.Rows, error) {
	if s.dialect != SQLite {
		return s.db.QueryContext(ctx, s.sqlFor(q), args...)
	}
	st, err := s.stmts.get(ctx, s.db, q.text)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// errRow is the result of a statement that could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
