package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"oauth2-server.dev/ports"
)

// translate turns a driver error into the ports sentinel it stands for, so
// that callers match with errors.Is and never see a driver type. op names
// the store operation for the log.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: %s: %w", op, ports.ErrNotFound)
	case isUniqueViolation(err):
		// The driver's text names the constraint, which tells an operator
		// reading the log which key collided; its type stays behind.
		return fmt.Errorf("sqlstore: %s: %w (%s)", op, ports.ErrConflict, err.Error())
	default:
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
}

// isRetryable reports whether err is PostgreSQL telling a transaction it
// lost a deadlock or a serialization conflict, which running it again can
// resolve.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// isUniqueViolation reports whether err is a primary key or unique
// constraint violation in either driver.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return true
		}
	}
	return false
}
