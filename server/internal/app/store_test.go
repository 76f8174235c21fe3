package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"oauth2-server.dev/config"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/faultproxy"
	"oauth2-server.dev/resilience"
)

// postgresSchema creates a schema of its own for the test, dropped when it
// ends, and returns base with search_path pointing at it.
func postgresSchema(t *testing.T, base string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	schema := "apptest_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestStoreBreakerOnABlackHoledDatabase: PostgreSQL stops answering. Each
// request's store call fails at the store deadline, well within the
// request's own, and those failures open the breaker, after which calls
// fail at once.
func TestStoreBreakerOnABlackHoledDatabase(t *testing.T) {
	dbURL, proxy := proxied(t, postgresSchema(t, testService(t, "OAUTH2_TEST_POSTGRES_URL")))
	cfg := config.Defaults()
	cfg.Store.URL = dbURL
	st, err := OpenStore(t.Context(), &cfg, true)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	// Runs before Close: the stuck transactions then end at once.
	t.Cleanup(func() { proxy.SetMode(faultproxy.Pass) })
	// The store deadline, shortened for the test's sake; requestDeadline
	// is shortened in proportion.
	const limit, request = 500 * time.Millisecond, 2 * time.Second
	guarded, breaker := guardStore(st, limit, nil, quietLog())
	now := time.Now()
	write := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(t.Context(), request)
		defer cancel()
		start := time.Now()
		err := guarded.UseJTI(ctx, ports.DefaultTenant, "jti-"+rand.Text(), now.Add(time.Hour), now)
		return time.Since(start), err
	}
	if _, err := write(); err != nil {
		t.Fatalf("a write with PostgreSQL answering: %v", err)
	}
	proxy.SetMode(faultproxy.BlackHole)
	t.Run("writes fail at the store deadline", func(t *testing.T) {
		for i := range 5 {
			took, err := write()
			if took > request*3/4 {
				t.Fatalf("write %d took %v with PostgreSQL black-holed, want the %v store deadline", i+1, took, limit)
			}
			if !errors.Is(err, ports.ErrUnavailable) {
				t.Fatalf("write %d: %v, want ErrUnavailable", i+1, err)
			}
		}
	})
	t.Run("then the breaker is open and writes fail at once", func(t *testing.T) {
		if s := breaker.State(); s != resilience.StateOpen {
			t.Fatalf("breaker %v after five writes failed at the store deadline, want open", s)
		}
		took, err := write()
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("write through an open breaker: %v, want ErrUnavailable", err)
		}
		if took > limit/2 {
			t.Fatalf("write through an open breaker took %v", took)
		}
	})
}

// keyStore is a store whose key reads can be made to fail or to hang
// until their context ends, as on a database that stopped answering.
type keyStore struct {
	Store
	mode  atomic.Int32 // keysAnswer, keysFail or keysHang
	calls atomic.Int32 // ListKeys calls that reached the store
}

const (
	keysAnswer int32 = iota
	keysFail
	keysHang
)

func (s *keyStore) ListKeys(ctx context.Context, tenant string) ([]*ports.SigningKey, error) {
	switch s.mode.Load() {
	case keysFail:
		s.calls.Add(1)
		return nil, errors.New("connection refused")
	case keysHang:
		s.calls.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.ListKeys(ctx, tenant)
}

func TestSigningKeysAreReadThroughTheStoreBreaker(t *testing.T) {
	vars := map[string]string{
		"OAUTH2_ISSUER":                "http://127.0.0.1:8080",
		"OAUTH2_DATABASE_URL":          "sqlite:" + filepath.Join(t.TempDir(), "oauth2.db"),
		"OAUTH2_KEY_ENCRYPTION_KEY":    base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"OAUTH2_EVENT_SINKS":           "none",
		"OAUTH2_KEY_ROTATION_INTERVAL": "0",
	}
	cfg, err := config.Load("", false, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	res := testResources(t)
	st, err := OpenStore(t.Context(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	res.push("store", st.Close)
	ks := &keyStore{Store: st}
	a, err := build(t.Context(), cfg, quietLog(), ports.SystemClock{}, ks, options{}, res)
	if err != nil {
		t.Fatal(err)
	}
	// Cancelled when the test ends, so that a read the breaker does not
	// bound cannot outlive it.
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	maintain := func(t *testing.T) (time.Duration, error) {
		t.Helper()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- a.Provider.MaintainKeys(ctx) }()
		select {
		case err := <-done:
			return time.Since(start), err
		case <-time.After(storeCallLimit + 3*time.Second):
			t.Fatalf("re-reading the keys from a store that stopped answering still waits after %v", time.Since(start))
			return 0, nil
		}
	}

	t.Run("a hanging store fails the re-read at the store deadline", func(t *testing.T) {
		ks.mode.Store(keysHang)
		_, err := maintain(t)
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("MaintainKeys on a hanging store: %v, want ErrUnavailable", err)
		}
	})
	t.Run("failed re-reads open the store breaker, and then cost the store nothing", func(t *testing.T) {
		ks.mode.Store(keysFail)
		for range 4 {
			if _, err := maintain(t); err == nil {
				t.Fatal("MaintainKeys succeeded on a failing store")
			}
		}
		calls := ks.calls.Load()
		took, err := maintain(t)
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("MaintainKeys through an open breaker: %v, want ErrUnavailable", err)
		}
		if n := ks.calls.Load() - calls; n != 0 {
			t.Fatalf("MaintainKeys reached the store %d times through an open breaker", n)
		}
		if took > storeCallLimit/2 {
			t.Fatalf("MaintainKeys through an open breaker took %v", took)
		}
	})
	t.Run("the keys in memory keep signing", func(t *testing.T) {
		if _, err := a.Provider.Keys().Sign("ES256", "JWT", map[string]string{"sub": "x"}); err != nil {
			t.Fatalf("Sign during the outage: %v", err)
		}
	})
}

// recordingHandler keeps the records logged through it.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func TestKeyMaintenanceLogsOnlyChanges(t *testing.T) {
	unavailable := &unavailableStub{}
	results := []error{
		nil,
		unavailable, unavailable, unavailable, unavailable,
		nil, nil,
		errors.New("keyset: cannot decrypt signing key k1"), errors.New("keyset: cannot decrypt signing key k1"),
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls int
	maintain := func(context.Context) error {
		if calls == len(results) {
			cancel()
			return nil
		}
		calls++
		return results[calls-1]
	}
	h := &recordingHandler{}
	runKeyMaintenance(ctx, time.Millisecond, maintain, slog.New(h))
	want := []slog.Level{slog.LevelWarn, slog.LevelInfo, slog.LevelError}
	var got []slog.Level
	for _, r := range h.records {
		got = append(got, r.Level)
	}
	if len(got) != len(want) {
		t.Fatalf("logged %d lines (%v) over an outage, a recovery and a failure, want %d: one per change", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: level %v, want %v (%q)", i+1, got[i], want[i], h.records[i].Message)
		}
	}
}

// unavailableStub is a store failure as the store breaker reports it.
type unavailableStub struct{}

func (*unavailableStub) Error() string        { return "store unavailable" }
func (*unavailableStub) Is(target error) bool { return target == ports.ErrUnavailable }
