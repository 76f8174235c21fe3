package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/storetest"
)

// postgresURL returns the PostgreSQL server the tests may use. Without one
// the PostgreSQL tests skip, unless OAUTH2_TEST_REQUIRE_SERVICES=1 (as in
// CI) makes a missing server a failure rather than a silent gap.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("OAUTH2_TEST_POSTGRES_URL")
	if u != "" {
		return u
	}
	if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal("OAUTH2_TEST_POSTGRES_URL not set but OAUTH2_TEST_REQUIRE_SERVICES=1: PostgreSQL store tests cannot run")
	}
	t.Skip("OAUTH2_TEST_POSTGRES_URL not set: skipping PostgreSQL store tests")
	return ""
}

// newSQLiteStore opens an unmigrated store on a new file of its own.
func newSQLiteStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "oauth2.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresSchema creates a schema of its own for the test, dropped when
// the test ends, and returns base with search_path pointing at it, so that
// tests never see each other's tables.
func postgresSchema(t *testing.T, base string) string {
	t.Helper()
	admin, err := Open(t.Context(), base, Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("Open admin connection: %v", err)
	}
	schema := "storetest_" + randomHex(t)
	if _, err := admin.db.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse OAUTH2_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newPostgresStore opens an unmigrated store on a fresh schema.
func newPostgresStore(t *testing.T, base string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), postgresSchema(t, base), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func migrated(t *testing.T, s *Store) ports.Store {
	t.Helper()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ports.Store {
		return migrated(t, newSQLiteStore(t, Options{}))
	})
}

func TestPostgresStore(t *testing.T) {
	base := postgresURL(t)
	storetest.Run(t, func(t *testing.T) ports.Store {
		return migrated(t, newPostgresStore(t, base, Options{}))
	})
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
