package core

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/storage/memory"
)

// testStore is the store the engine's tests run on: the in-memory store,
// held to the store contract like every other, plus what tests look at
// and the failures they inject. It keeps the events its changes
// committed, in commit order, and fails the methods a test names.
type testStore struct {
	*memory.Store

	mu     sync.Mutex
	events []ports.Event
	faults map[string]error
}

var _ Store = (*testStore)(nil)

func newTestStore() *testStore {
	s := &testStore{faults: map[string]error{}}
	s.Store = memory.New(memory.Options{Fault: s.fault})
	s.OnEvents(func(evs []ports.Event) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.events = append(s.events, evs...)
	})
	return s
}

func (s *testStore) fault(_ context.Context, method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[method]
}

// fail makes method answer err from now on; a nil err heals it.
func (s *testStore) fail(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.faults, method)
		return
	}
	s.faults[method] = err
}

// committed returns the events of the changes made so far, oldest first.
func (s *testStore) committed() []ports.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// eventTypes lists the types of the committed events, oldest first.
func (s *testStore) eventTypes() []string {
	var out []string
	for _, e := range s.committed() {
		out = append(out, e.Type)
	}
	return out
}

// noNetwork fails every request, so a test never reaches the network by
// accident.
type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("test: no network")
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testKeys is generated once: RSA key generation dominates the package's
// run time otherwise.
var testKeys = sync.OnceValues(func() (*keyset.Set, error) {
	return keyset.Load(context.Background(), memory.New(memory.Options{}), ports.DefaultTenant,
		bytes.Repeat([]byte{0x5A}, 32), fixedClock{testNow})
})

// newReplica returns a provider that shares store with others, as a
// replica shares the server's database: writing to store directly is a
// change another replica made.
func newReplica(t testing.TB, cfg Config, store Store) *Provider {
	t.Helper()
	p, _ := newTestProviderWith(t, cfg, func(d *Deps) { d.Store = store })
	return p
}

// newTestProvider returns a Provider over a fresh testStore.
func newTestProvider(t testing.TB, cfg Config) (*Provider, *testStore) {
	t.Helper()
	return newTestProviderWith(t, cfg, nil)
}

// newTestProviderWith is newTestProvider with the collaborators that
// change changes, such as another store or clock.
func newTestProviderWith(t testing.TB, cfg Config, change func(*Deps)) (*Provider, *testStore) {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatalf("keyset.Load: %v", err)
	}
	secrets, err := secret.NewKeyed(bytes.Repeat([]byte{0x33}, 32))
	if err != nil {
		t.Fatalf("secret.NewKeyed: %v", err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "https://id.example.com"
	}
	cfg = withTestSettings(cfg)
	store := newTestStore()
	d := Deps{
		Store: store, Keys: keys, Clock: fixedClock{testNow},
		Passwords: secret.Argon2id{Memory: 64, Time: 1, Threads: 1}, Secrets: secrets,
		DPoPNonceKey: bytes.Repeat([]byte{0x44}, 32),
		// Tests that fetch request objects set a client of their own.
		RequestURIClient: &http.Client{Transport: noNetwork{}},
	}
	if change != nil {
		change(&d)
	}
	p, err := New(cfg, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, store
}
