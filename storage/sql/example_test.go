package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	sqlstore "oauth2-server.dev/storage/sql"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "oauth2-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "data", "oauth2.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	states, err := store.MigrationStatus(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Dialect())
	for _, m := range states {
		fmt.Printf("%04d_%s applied=%t\n", m.Version, m.Name, m.Applied)
	}
	// Output:
	// sqlite
	// 0001_init applied=true
	// 0002_replay_device_purge applied=true
	// 0003_code_resources applied=true
	// 0004_client_secret_sealed applied=true
	// 0005_event_outbox applied=true
	// 0006_tokens_by_client applied=true
	// 0007_token_binding_details applied=true
	// 0008_ciba_requests applied=true
	// 0009_tokens_by_session_partial applied=true
	// 0010_users_deletion applied=true
}
