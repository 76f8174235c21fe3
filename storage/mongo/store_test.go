package mongostore

import (
	"testing"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/storetest"
	"oauth2-server.dev/storage/mongo/mongotest"
)

// openTestStore opens an unmigrated store on a database of its own.
func openTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), mongotest.URL(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ports.Store {
		s := openTestStore(t, Options{})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	})
}
