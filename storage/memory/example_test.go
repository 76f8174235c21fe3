package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/storage/memory"
)

func ExampleNew() {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	store := memory.New(memory.Options{})
	defer store.Close()

	err := store.CreateAuthRequest(ctx, &ports.AuthRequest{ID: "r1", Tenant: ports.DefaultTenant, CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
	fmt.Println("stored:", err)
	_, err = store.GetAuthRequest(ctx, ports.DefaultTenant, "r1", now.Add(time.Minute))
	fmt.Println("a minute later, expired:", errors.Is(err, ports.ErrNotFound))
	// Output:
	// stored: <nil>
	// a minute later, expired: true
}

func ExampleOptions_fault() {
	down := errors.New("connection refused")
	store := memory.New(memory.Options{Fault: func(_ context.Context, method string) error {
		if method == "GetClient" {
			return down
		}
		return nil
	}})
	_, err := store.GetClient(context.Background(), ports.DefaultTenant, "web")
	fmt.Println(err)
	// Output:
	// connection refused
}
