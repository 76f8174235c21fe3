package sqlstore

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func TestOpenRejectsUnknownSchemes(t *testing.T) {
	tests := []struct{ name, url string }{
		{"empty", ""},
		{"mysql", "mysql://root:hunter2@db/oauth2"},
		{"mongodb", "mongodb://localhost/oauth2"},
		{"bare path", "data/oauth2.db"},
		{"sqlite3 scheme", "sqlite3:data/oauth2.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.url, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, want := range []string{"sqlite:PATH", "postgres://", "postgresql://"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name the accepted scheme %s", msg, want)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q repeats the URL's password", msg)
			}
		})
	}
}

func TestOpenSQLiteRejectsUnusablePaths(t *testing.T) {
	for _, url := range []string{"sqlite:", "sqlite::memory:", "sqlite:file::memory:", "sqlite:file::memory:?cache=shared", "sqlite:/tmp/x.db?_pragma=foo"} {
		t.Run(url, func(t *testing.T) {
			s, err := Open(t.Context(), url, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestOpenRejectsNegativeOptions(t *testing.T) {
	_, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"), Options{MaxOpenConns: -1})
	if err == nil {
		t.Fatal("Open accepted MaxOpenConns -1")
	}
}

func TestOpenSQLiteCreatesTheParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "data", "oauth2.db")
	s, err := Open(t.Context(), "sqlite:"+path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if s.Dialect() != SQLite {
		t.Errorf("Dialect() = %q, want %q", s.Dialect(), SQLite)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created: %v", err)
	}
}

func TestSQLiteConnectionSettings(t *testing.T) {
	s := newSQLiteStore(t, Options{})
	// Settings are per connection, so check them on several read
	// connections at once, and on the write connection.
	type conn struct {
		c        *sql.Conn
		readOnly string
	}
	var held []conn
	for range defaultSQLiteConns {
		c, err := s.db.Conn(t.Context())
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		held = append(held, conn{c, "1"})
	}
	w, err := s.wdb.Conn(t.Context())
	if err != nil {
		t.Fatalf("Conn: %v", err)
	}
	held = append(held, conn{w, "0"})
	for _, h := range held {
		c := h.c
		tests := []struct {
			pragma, want string
		}{
			{"journal_mode", "wal"},
			{"busy_timeout", "10000"},
			{"foreign_keys", "1"},
			{"synchronous", "2"}, // FULL: a commit survives a power loss
			{"query_only", h.readOnly},
			{"temp_store", "2"}, // MEMORY: savepoint journals stay off the disk
		}
		for _, tt := range tests {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
			}
		}
	}
	for _, h := range held {
		h.c.Close()
	}
}

// TestSQLiteConcurrentWriters holds the SQLite setup to its promise: write
// transactions queue for the lock instead of failing with SQLITE_BUSY,
// whatever the pool size.
func TestSQLiteConcurrentWriters(t *testing.T) {
	const writers = 50
	pools := []struct {
		name  string
		conns int
	}{
		{"default pool", 0},
		{"one connection", 1},
		{"a connection per writer", writers},
	}
	for _, pool := range pools {
		t.Run(pool.name, func(t *testing.T) {
			s := newSQLiteStore(t, Options{MaxOpenConns: pool.conns})
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			now := ports.SystemClock{}.Now()
			token := func(id, kind string) *ports.Token {
				return &ports.Token{ID: id, Tenant: ports.DefaultTenant, Kind: kind, GrantID: "g-" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			}
			errs := make(chan error, 3*writers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					<-start
					id := string(rune('A'+i%26)) + string(rune('a'+i/26))
					errs <- s.CreateTokens(t.Context(), []*ports.Token{token(id+"-a", ports.TokenAccess), token(id+"-r", ports.TokenRefresh)})
					_, err := s.RotateRefreshToken(t.Context(), ports.DefaultTenant, id+"-r", now, ports.Rotation{Issued: []*ports.Token{token(id+"-r2", ports.TokenRefresh)}})
					errs <- err
					errs <- s.RevokeGrant(t.Context(), ports.DefaultTenant, "g-"+id+"-a", now)
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestPostgresStatementTimeout(t *testing.T) {
	s := newPostgresStore(t, postgresURL(t), Options{StatementTimeout: 150 * time.Millisecond})
	var setting string
	if err := s.db.QueryRowContext(t.Context(), `SHOW statement_timeout`).Scan(&setting); err != nil {
		t.Fatalf("SHOW statement_timeout: %v", err)
	}
	if setting != "150ms" {
		t.Errorf("statement_timeout = %q, want 150ms", setting)
	}
	if _, err := s.db.ExecContext(t.Context(), `SELECT pg_sleep(2)`); err == nil {
		t.Error("a statement longer than the timeout succeeded")
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate under a statement timeout: %v", err)
	}
}

func TestPostgresDialect(t *testing.T) {
	s := newPostgresStore(t, postgresURL(t), Options{MaxOpenConns: 3, MinConns: 1, ConnMaxLifetime: time.Minute})
	if s.Dialect() != Postgres {
		t.Errorf("Dialect() = %q, want %q", s.Dialect(), Postgres)
	}
	if got := s.pool.Config().MaxConns; got != 3 {
		t.Errorf("pool MaxConns = %d, want 3", got)
	}
}

func TestErrorsCarryNoDriverTypes(t *testing.T) {
	s := newSQLiteStore(t, Options{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	u := &ports.User{ID: "u1", Tenant: "t", Username: "ada", CreatedAt: ports.SystemClock{}.Now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	err := s.CreateUser(t.Context(), u)
	if !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("CreateUser again: %v, want ErrConflict", err)
	}
	if errors.Unwrap(err) != ports.ErrConflict {
		t.Errorf("conflict wraps %T, want only ports.ErrConflict", errors.Unwrap(err))
	}
}
