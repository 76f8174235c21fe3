package sqlstore

import (
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// backends runs test once per dialect on a fresh, unmigrated store.
func backends(t *testing.T, test func(t *testing.T, open func(t *testing.T) *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, func(t *testing.T) *Store { return newSQLiteStore(t, Options{}) })
	})
	t.Run("postgres", func(t *testing.T) {
		base := postgresURL(t)
		test(t, func(t *testing.T) *Store { return newPostgresStore(t, base, Options{}) })
	})
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *Store) {
		s := open(t)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("first Migrate: %v", err)
		}
		first, err := s.MigrationStatus(t.Context())
		if err != nil {
			t.Fatalf("MigrationStatus: %v", err)
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		second, err := s.MigrationStatus(t.Context())
		if err != nil {
			t.Fatalf("MigrationStatus: %v", err)
		}
		for i := range first {
			if !second[i].AppliedAt.Equal(first[i].AppliedAt) {
				t.Errorf("migration %d re-applied: applied at %v, then at %v", first[i].Version, first[i].AppliedAt, second[i].AppliedAt)
			}
		}
		var rows int
		if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
			t.Fatalf("count schema_migrations: %v", err)
		}
		if rows != len(first) {
			t.Errorf("schema_migrations has %d rows, want %d", rows, len(first))
		}
	})
}

func TestMigrationStatus(t *testing.T) {
	known, err := migrations()
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	backends(t, func(t *testing.T, open func(t *testing.T) *Store) {
		s := open(t)
		t.Run("lists every migration as pending before Migrate", func(t *testing.T) {
			states, err := s.MigrationStatus(t.Context())
			if err != nil {
				t.Fatalf("MigrationStatus: %v", err)
			}
			if len(states) != len(known) {
				t.Fatalf("MigrationStatus listed %d migrations, want %d", len(states), len(known))
			}
			for i, st := range states {
				if st.Version != known[i].version || st.Name != known[i].name || st.Applied || !st.AppliedAt.IsZero() {
					t.Errorf("state %d = %+v, want version %d %q pending", i, st, known[i].version, known[i].name)
				}
			}
		})
		t.Run("lists every migration as applied after Migrate", func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			states, err := s.MigrationStatus(t.Context())
			if err != nil {
				t.Fatalf("MigrationStatus: %v", err)
			}
			for _, st := range states {
				if !st.Applied || st.AppliedAt.Before(before) || st.AppliedAt.Location() != time.UTC {
					t.Errorf("state %+v, want applied in UTC after %v", st, before)
				}
			}
		})
	})
}

func TestConcurrentMigrationsFromSeveralHandles(t *testing.T) {
	const replicas = 6
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/shared.db" }},
		{"postgres", func(t *testing.T) string { return postgresSchema(t, postgresURL(t)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url(t)
			stores := make([]*Store, replicas)
			for i := range stores {
				s, err := Open(t.Context(), u, Options{})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				t.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			errs := make([]error, replicas)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() {
					<-start
					errs[i] = s.Migrate(t.Context())
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: Migrate: %v", i, err)
				}
			}
			states, err := stores[0].MigrationStatus(t.Context())
			if err != nil {
				t.Fatalf("MigrationStatus: %v", err)
			}
			for _, st := range states {
				if !st.Applied {
					t.Errorf("migration %d %s is pending after every replica migrated", st.Version, st.Name)
				}
			}
		})
	}
}

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %d has version %d: versions must run 1, 2, 3, ... without gaps", i, m.version)
		}
		for d, r := range columnTypes {
			if sql := r.Replace(m.sql); strings.Contains(sql, "${") {
				t.Errorf("migration %d keeps an unknown ${...} type after %s substitution", m.version, d)
			}
		}
	}
}

func TestParseMigrationsRejectsBadNames(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
	}{
		{"no version", fstest.MapFS{"m/init.sql": {}}},
		{"no name", fstest.MapFS{"m/0001.sql": {}}},
		{"version zero", fstest.MapFS{"m/0000_init.sql": {}}},
		{"duplicate version", fstest.MapFS{"m/0001_init.sql": {}, "m/001_again.sql": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseMigrations(tt.files, "m"); err == nil {
				t.Fatal("parseMigrations accepted the files")
			}
		})
	}
}
