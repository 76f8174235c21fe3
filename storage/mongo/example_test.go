package mongostore_test

import (
	"context"
	"fmt"
	"log"

	mongostore "oauth2-server.dev/storage/mongo"
	"oauth2-server.dev/storage/mongo/mongotest"
)

func ExampleOpen() {
	// A database of its own on the test server; in production this is the
	// operator's OAUTH2_DATABASE_URL, such as
	// mongodb://oauth2:secret@db1,db2,db3/oauth2?replicaSet=rs0.
	databaseURL, drop, err := mongotest.NewDatabase()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	defer drop(ctx)

	store, err := mongostore.Open(ctx, databaseURL, mongostore.Options{})
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
	for _, m := range states {
		fmt.Printf("%04d_%s applied=%t\n", m.Version, m.Name, m.Applied)
	}
	// Output:
	// 0001_init applied=true
	// 0002_event_outbox applied=true
	// 0003_tokens_by_client applied=true
	// 0004_ciba_requests applied=true
	// 0005_users_deletion applied=true
}
