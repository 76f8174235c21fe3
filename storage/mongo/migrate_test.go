package mongostore

import (
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"oauth2-server.dev/storage/mongo/mongotest"
)

func TestMigrateTwiceIsANoOp(t *testing.T) {
	s := openTestStore(t, Options{})
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
	n, err := s.migrations.CountDocuments(t.Context(), bson.D{})
	if err != nil {
		t.Fatalf("count schema_migrations: %v", err)
	}
	if int(n) != len(first) {
		t.Errorf("schema_migrations has %d documents, want %d", n, len(first))
	}
}

func TestMigrationStatus(t *testing.T) {
	s := openTestStore(t, Options{})
	t.Run("lists every migration as pending before Migrate", func(t *testing.T) {
		states, err := s.MigrationStatus(t.Context())
		if err != nil {
			t.Fatalf("MigrationStatus: %v", err)
		}
		if len(states) != len(migrations) {
			t.Fatalf("MigrationStatus listed %d migrations, want %d", len(states), len(migrations))
		}
		for i, st := range states {
			if st.Version != migrations[i].version || st.Name != migrations[i].name || st.Applied || !st.AppliedAt.IsZero() {
				t.Errorf("state %d = %+v, want version %d %q pending", i, st, migrations[i].version, migrations[i].name)
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
}

func TestEmbeddedMigrations(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migration %d has version %d: versions must run 1, 2, 3, ... without gaps", i, m.version)
		}
		if m.name == "" || m.apply == nil {
			t.Errorf("migration %d has no name or no apply", m.version)
		}
	}
}

func TestConcurrentMigrationsFromSeveralHandles(t *testing.T) {
	const replicas = 6
	u := mongotest.URL(t)
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
}

// TestMigrateCreatesUniqueKeys reads the indexes back from the server: the
// unique keys are what makes creates conflict and claims single-use, so a
// missing one would fail silently.
func TestMigrateCreatesUniqueKeys(t *testing.T) {
	s := openTestStore(t, Options{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	want := map[string][]string{
		collClients:     {"tenant_id"},
		collUsers:       {"tenant_id", "tenant_username"},
		collAuthCodes:   {"tenant_hash"},
		collTokens:      {"tenant_id"},
		collDeviceCodes: {"tenant_hash", "tenant_user_code"},
		collJTIs:        {"tenant_key"},
		collClaims:      {"tenant_kind_key"},
	}
	for coll, names := range want {
		cur, err := s.db.Collection(coll).Indexes().List(t.Context())
		if err != nil {
			t.Fatalf("list indexes of %s: %v", coll, err)
		}
		var specs []struct {
			Name   string `bson:"name"`
			Key    bson.D `bson:"key"`
			Unique bool   `bson:"unique"`
		}
		if err := cur.All(t.Context(), &specs); err != nil {
			t.Fatalf("list indexes of %s: %v", coll, err)
		}
		for _, name := range names {
			found := false
			for _, sp := range specs {
				if sp.Name != name {
					continue
				}
				found = true
				if !sp.Unique {
					t.Errorf("%s.%s is not unique", coll, name)
				}
				if len(sp.Key) == 0 || sp.Key[0].Key != "tenant" {
					t.Errorf("%s.%s keys %v do not start with the tenant", coll, name, sp.Key)
				}
			}
			if !found {
				t.Errorf("%s has no index %s", coll, name)
			}
		}
	}
}
