package core

import (
	"context"
	"errors"
	"testing"

	"oauth2-server.dev/ports"
)

func TestClientCache(t *testing.T) {
	ctx := context.Background()
	newProvider := func(t *testing.T) (*Provider, *testStore, *stepClock) {
		clock := &stepClock{now: testNow}
		p, store := newTestProviderWith(t, Config{}, func(d *Deps) { d.Clock = clock })
		if _, err := p.EnsureClient(ctx, "svc", "svc-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api"}`)); err != nil {
			t.Fatal(err)
		}
		return p, store, clock
	}
	cred := ClientCredentials{ID: "svc", Secret: "svc-secret-0123456789", Method: ports.AuthMethodSecretBasic}

	t.Run("a change on another replica is seen once the entry is older than the TTL", func(t *testing.T) {
		p, store, clock := newProvider(t)
		if _, err := p.AuthenticateClient(ctx, cred); err != nil {
			t.Fatal(err)
		}
		// Another replica deletes the client: this store has it no more,
		// this provider's cache still does.
		if err := store.DeleteClient(ctx, p.cfg.Tenant, "svc"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.AuthenticateClient(ctx, cred); err != nil {
			t.Fatalf("within the TTL the cached client should still authenticate: %v", err)
		}
		clock.advance(clientCacheTTL)
		if _, err := p.AuthenticateClient(ctx, cred); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("after the TTL a deleted client authenticated: %v", err)
		}
	})
	t.Run("a change on this replica is seen at once", func(t *testing.T) {
		p, _, _ := newProvider(t)
		if _, err := p.AuthenticateClient(ctx, cred); err != nil {
			t.Fatal(err)
		}
		if _, err := p.EnsureClient(ctx, "svc", "another-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.AuthenticateClient(ctx, cred); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("the old secret still works after the client changed on this replica: %v", err)
		}
	})
	t.Run("unknown clients are not cached", func(t *testing.T) {
		p, store, _ := newProvider(t)
		late := ClientCredentials{ID: "late", Secret: "late-secret-0123456789", Method: ports.AuthMethodSecretBasic}
		if _, err := p.AuthenticateClient(ctx, late); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("unknown client: %v", err)
		}
		other := newReplica(t, Config{}, store)
		if _, err := other.EnsureClient(ctx, "late", "late-secret-0123456789", []byte(`{"grant_types":["client_credentials"],"scope":"api"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.AuthenticateClient(ctx, late); err != nil {
			t.Fatalf("a client registered on another replica is not found at once: %v", err)
		}
	})
}
