package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Column types that differ by dialect. Migrations write them as ${NAME}:
//
//	${KEY}        identifiers (tenant, ids, hashes, usernames): TEXT COLLATE "C"
//	              on PostgreSQL, TEXT on SQLite. Both then compare and sort
//	              byte by byte, as Go does, whatever collation the
//	              PostgreSQL database defaults to, so ListClients orders
//	              the same on every backend.
//	${TIMESTAMP}  TIMESTAMPTZ on PostgreSQL; INTEGER on SQLite, holding Unix
//	              microseconds in UTC, which keeps the precision ports
//	              times have and sorts and compares as the instants do.
//	${BYTES}      BYTEA on PostgreSQL; BLOB on SQLite.
//	${SERIAL}     a 64-bit integer primary key the database numbers in
//	              insert order: an identity column on PostgreSQL; on
//	              SQLite an INTEGER PRIMARY KEY, the rowid, which takes the
//	              largest present value plus one.
//
// BOOLEAN needs no substitution: SQLite accepts the type name and stores
// 0 or 1, which database/sql scans into a bool.
var columnTypes = map[Dialect]*strings.Replacer{
	Postgres: strings.NewReplacer("${KEY}", `TEXT COLLATE "C"`, "${TIMESTAMP}", "TIMESTAMPTZ", "${BYTES}", "BYTEA",
		"${SERIAL}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
	SQLite: strings.NewReplacer("${KEY}", "TEXT", "${TIMESTAMP}", "INTEGER", "${BYTES}", "BLOB",
		"${SERIAL}", "INTEGER PRIMARY KEY"),
}

// query is a statement written once with ? placeholders. Its PostgreSQL
// form, with $1, $2, ... in their place, is derived when the package loads
// so that no request pays for the rewrite.
type query struct {
	text     string
	postgres string
}

func newQuery(text string) query {
	return query{text: text, postgres: numberPlaceholders(text)}
}

// skipLocked marks, in a query written for newSkipLockedQuery, the end of
// a subquery that picks rows for the statement to claim.
const skipLocked = "${SKIP_LOCKED}"

// newSkipLockedQuery is newQuery for a statement that claims rows picked
// by a subquery. On PostgreSQL the subquery locks what it picks and passes
// over rows another transaction holds, so that concurrent claimers take
// different rows instead of queueing for the same ones. SQLite needs no
// such clause: a writing statement holds the database's write lock from
// its first step, so claimers run one after another.
func newSkipLockedQuery(text string) query {
	return query{
		text:     strings.ReplaceAll(text, skipLocked, ""),
		postgres: numberPlaceholders(strings.ReplaceAll(text, skipLocked, " FOR UPDATE SKIP LOCKED")),
	}
}

// numberPlaceholders rewrites each ? outside a quoted literal or identifier
// as $n.
func numberPlaceholders(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote rune
	for _, r := range q {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqlFor returns q in the store's placeholder style.
func (s *Store) sqlFor(q query) string {
	if s.dialect == Postgres {
		return q.postgres
	}
	return q.text
}

// newForUpdateQuery is newQuery for a SELECT whose row the transaction goes
// on to write. PostgreSQL's default isolation lets two transactions read
// the same row, and FOR UPDATE makes them take turns. SQLite has no such
// clause and needs none: its writes are serial.
func newForUpdateQuery(text string) query {
	return query{text: text, postgres: numberPlaceholders(text + " FOR UPDATE")}
}

// timeArg converts a ports time into the column representation. Times are
// truncated, not rounded, to microseconds on both dialects so that a value
// reads back the same wherever it was stored.
func (s *Store) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t
}

func (s *Store) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.timeArg(*t)
}

// bytesArg keeps nil slices out of NOT NULL columns.
func bytesArg(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullBytesArg stores an empty slice as NULL in a nullable ${BYTES} column,
// which then scans back as nil.
func nullBytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// timeCol scans a ${TIMESTAMP} column of either dialect into a UTC time.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*c.dst = time.UnixMicro(v).UTC()
	case time.Time:
		*c.dst = v.UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	return nil
}

// nullTimeCol scans a nullable ${TIMESTAMP} column; NULL becomes nil.
type nullTimeCol struct{ dst **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.dst = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.dst = &t
	return nil
}
