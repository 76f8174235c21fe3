package janitor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"oauth2-server.dev/ports"
	sqlstore "oauth2-server.dev/storage/sql"
)

// fixedClock is a clock the test sets.
type fixedClock struct{ now time.Time }

func (c fixedClock) Now() time.Time { return c.now }

func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "oauth2.db"), sqlstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func newJanitor(t *testing.T, p ports.Purger, batch int, reg prometheus.Registerer, log *slog.Logger, now time.Time) *Janitor {
	t.Helper()
	j, err := New(p, time.Minute, batch, reg, log, fixedClock{now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return j
}

// seed stores, in two tenants, records of every kind: n expired at now and
// one live at now.
func seed(t *testing.T, s ports.Store, now time.Time, n int) {
	t.Helper()
	ctx := t.Context()
	store := func(tenant, id string, exp time.Time) {
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.CreateAuthRequest(ctx, &ports.AuthRequest{ID: id, Tenant: tenant, CreatedAt: exp.Add(-time.Minute), ExpiresAt: exp}))
		must(s.CreateAuthCode(ctx, &ports.AuthorizationCode{Hash: id, Tenant: tenant, AuthTime: exp, CreatedAt: exp.Add(-time.Minute), ExpiresAt: exp}))
		must(s.CreateTokens(ctx, []*ports.Token{&ports.Token{ID: id, Tenant: tenant, Kind: ports.TokenAccess, GrantID: id, IssuedAt: exp.Add(-time.Hour), ExpiresAt: exp}}))
		must(s.CreateSession(ctx, &ports.Session{ID: id, Tenant: tenant, AuthTime: exp, CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}))
		must(s.UseJTI(ctx, tenant, "dpop:"+id, exp, exp.Add(-time.Minute)))
		must(s.CreateDeviceCode(ctx, &ports.DeviceCode{Hash: id, Tenant: tenant, UserCode: "U" + id, Status: ports.DevicePending, CreatedAt: exp.Add(-time.Minute), ExpiresAt: exp}))
		must(s.CreateCIBARequest(ctx, &ports.CIBARequest{Hash: id, Tenant: tenant, DecisionHash: "D" + id, DeliveryMode: ports.CIBAModePoll, Status: ports.CIBAPending, CreatedAt: exp.Add(-time.Minute), ExpiresAt: exp}))
	}
	for i := range n {
		tenant := []string{"a", "b"}[i%2]
		store(tenant, "expired-"+string(rune('a'+i)), now.Add(-time.Duration(i+1)*time.Second))
	}
	store("a", "live", now.Add(time.Microsecond))
}

// remaining counts what is left of every kind, expired or not, by purging
// everything in a throwaway pass far in the future.
func remaining(t *testing.T, s ports.Purger, now time.Time) map[string]int {
	t.Helper()
	left := map[string]int{}
	for _, kind := range ports.PurgeKinds {
		n, err := s.PurgeExpired(t.Context(), kind, now.Add(24*time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		left[kind] = n
	}
	return left
}

func TestRunOnceDeletesExpiredRecordsAndKeepsLiveOnes(t *testing.T) {
	s := newStore(t)
	now := ports.SystemClock{}.Now()
	seed(t, s, now, 5)
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	j := newJanitor(t, s, 2, reg, slog.New(slog.NewTextHandler(&logs, nil)), now)

	deleted, err := j.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	for _, kind := range ports.PurgeKinds {
		if deleted[kind] != 5 {
			t.Errorf("RunOnce deleted %d %s, want 5", deleted[kind], kind)
		}
		if got := testutil.ToFloat64(j.deleted.WithLabelValues(kind)); got != 5 {
			t.Errorf("oauth2_janitor_deleted_total{kind=%q} = %v, want 5", kind, got)
		}
	}
	if _, err := s.GetSession(t.Context(), "a", "live", now); err != nil {
		t.Errorf("live session: %v", err)
	}
	if _, err := s.GetToken(t.Context(), "a", "live"); err != nil {
		t.Errorf("live token: %v", err)
	}
	if err := s.UseJTI(t.Context(), "a", "dpop:live", now.Add(time.Hour), now); !errors.Is(err, ports.ErrAlreadyUsed) {
		t.Errorf("live jti: UseJTI = %v, want ErrAlreadyUsed", err)
	}
	if _, err := s.GetToken(t.Context(), "b", "expired-b"); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("expired token: GetToken = %v, want ErrNotFound", err)
	}
	for kind, n := range remaining(t, s, now) {
		if n != 1 {
			t.Errorf("%d %s left after the janitor, want only the live one", n, kind)
		}
	}

	line := logs.String()
	if !strings.Contains(line, "deleted expired records") || !strings.Contains(line, "tokens=5") || !strings.Contains(line, "total=35") {
		t.Errorf("log = %q, want one line with the counts", line)
	}

	t.Run("a pass with nothing to delete logs nothing", func(t *testing.T) {
		logs.Reset()
		deleted, err := j.RunOnce(t.Context())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		for kind, n := range deleted {
			if n != 0 {
				t.Errorf("second RunOnce deleted %d %s", n, kind)
			}
		}
		if logs.Len() != 0 {
			t.Errorf("log = %q, want nothing", logs.String())
		}
	})
}

func TestRunOnceBoundsATick(t *testing.T) {
	s := newStore(t)
	now := ports.SystemClock{}.Now()
	const batch = 2
	backlog := MaxBatchesPerTick*batch + 3
	for i := range backlog {
		id := "t" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		err := s.CreateTokens(t.Context(), []*ports.Token{&ports.Token{ID: id, Tenant: "a", Kind: ports.TokenAccess, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	j := newJanitor(t, s, batch, nil, nil, now)
	first, err := j.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if first[ports.PurgeTokens] != MaxBatchesPerTick*batch {
		t.Errorf("first tick deleted %d tokens, want the bound %d", first[ports.PurgeTokens], MaxBatchesPerTick*batch)
	}
	second, err := j.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if second[ports.PurgeTokens] != 3 {
		t.Errorf("second tick deleted %d tokens, want the 3 left", second[ports.PurgeTokens])
	}
}

// fakePurger records calls and fails the kinds it is told to.
type fakePurger struct {
	mu    sync.Mutex
	calls map[string]int
	fail  map[string]bool
	ticks chan struct{}
}

func (f *fakePurger) PurgeExpired(_ context.Context, kind string, _ time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[kind]++
	if kind == ports.PurgeKinds[len(ports.PurgeKinds)-1] && f.ticks != nil {
		select {
		case f.ticks <- struct{}{}:
		default:
		}
	}
	if f.fail[kind] {
		return 0, errors.New("store down")
	}
	return 0, nil
}

func TestRunOnceGoesOnAfterAFailingKind(t *testing.T) {
	f := &fakePurger{calls: map[string]int{}, fail: map[string]bool{ports.PurgeTokens: true}}
	j := newJanitor(t, f, 10, prometheus.NewRegistry(), nil, time.Now())
	_, err := j.RunOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), ports.PurgeTokens) {
		t.Fatalf("RunOnce error = %v, want one naming %s", err, ports.PurgeTokens)
	}
	for _, kind := range ports.PurgeKinds {
		if f.calls[kind] != 1 {
			t.Errorf("%s purged %d times, want 1", kind, f.calls[kind])
		}
	}
	if got := testutil.ToFloat64(j.failures.WithLabelValues(ports.PurgeTokens)); got != 1 {
		t.Errorf("oauth2_janitor_errors_total{kind=tokens} = %v, want 1", got)
	}
}

func TestRunPurgesAtOnceAndOnEveryTickUntilCancelled(t *testing.T) {
	f := &fakePurger{calls: map[string]int{}, ticks: make(chan struct{})}
	j, err := New(f, 5*time.Millisecond, 10, nil, nil, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.Run(ctx)
	}()
	for range 3 {
		select {
		case <-f.ticks:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not purge")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	f := &fakePurger{calls: map[string]int{}}
	tests := []struct {
		name     string
		purger   ports.Purger
		interval time.Duration
		batch    int
	}{
		{"no purger", nil, time.Minute, 10},
		{"zero interval", f, 0, 10},
		{"zero batch", f, time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.purger, tt.interval, tt.batch, nil, nil, nil); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestJanitorsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := &fakePurger{calls: map[string]int{}}
	a := newJanitor(t, f, 10, reg, nil, time.Now())
	b := newJanitor(t, f, 10, reg, nil, time.Now())
	a.deleted.WithLabelValues(ports.PurgeJTIs).Add(2)
	b.deleted.WithLabelValues(ports.PurgeJTIs).Add(3)
	if got := testutil.ToFloat64(a.deleted.WithLabelValues(ports.PurgeJTIs)); got != 5 {
		t.Errorf("shared counter = %v, want 5", got)
	}
}
