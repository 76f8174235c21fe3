package ratelimit

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newGuard(t *testing.T, l Limiter, m *Metrics) *FailureGuard {
	t.Helper()
	g, err := NewFailureGuard(FailureOptions{Limiter: l, Limit: DefaultLimits().Failures, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFailureGuard(t *testing.T) {
	tests := []struct {
		name        string
		failures    int
		advance     time.Duration
		wantBlocked bool
		wantWait    time.Duration
	}{
		{"no failures", 0, 0, false, 0},
		{"failures within the burst", 9, 0, false, 0},
		{"the burst of failures blocks", 10, 0, true, 12 * time.Second},
		{"more failures do not block for longer", 50, 0, true, 12 * time.Second},
		{"a blocked key waits out the rest of the interval", 10, 5 * time.Second, true, 7 * time.Second},
		{"one interval later one more attempt is allowed", 10, 12 * time.Second, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			g := newGuard(t, NewMemory(MemoryOptions{Clock: clock}), nil)
			for range tt.failures {
				if err := g.RecordFailure(ctx, "user:alice"); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(tt.advance)
			blocked, wait, err := g.Blocked(ctx, "user:alice")
			if err != nil {
				t.Fatal(err)
			}
			if blocked != tt.wantBlocked || wait != tt.wantWait {
				t.Fatalf("Blocked = %v, %v; want %v, %v", blocked, wait, tt.wantBlocked, tt.wantWait)
			}
		})
	}

	t.Run("checking does not spend the budget", func(t *testing.T) {
		g := newGuard(t, NewMemory(MemoryOptions{Clock: newFakeClock()}), nil)
		for range 100 {
			if blocked, _, _ := g.Blocked(ctx, "user:alice"); blocked {
				t.Fatal("blocked by checks alone")
			}
		}
	})

	t.Run("a failure counts against every key it is recorded under", func(t *testing.T) {
		g := newGuard(t, NewMemory(MemoryOptions{Clock: newFakeClock()}), nil)
		for range 10 {
			g.RecordFailure(ctx, "ip:203.0.113.7", "user:alice")
		}
		for _, keys := range [][]string{{"ip:203.0.113.7"}, {"user:alice"}, {"user:bob", "ip:203.0.113.7"}} {
			if blocked, _, _ := g.Blocked(ctx, keys...); !blocked {
				t.Errorf("%v not blocked", keys)
			}
		}
		if blocked, _, _ := g.Blocked(ctx, "user:bob"); blocked {
			t.Error("an unrelated key is blocked")
		}
	})

	t.Run("guards do not share budgets with rate limit rules", func(t *testing.T) {
		l := NewMemory(MemoryOptions{Clock: newFakeClock()})
		g := newGuard(t, l, nil)
		for range 10 {
			g.RecordFailure(ctx, "a")
		}
		if d, _ := l.AllowN(ctx, "token_ip:a", PerSecond(1, 1), 1); !d.Allowed {
			t.Fatal("the guard's failures spent a rule's budget")
		}
	})

	t.Run("limiter errors reach the caller", func(t *testing.T) {
		g := newGuard(t, failingLimiter{}, nil)
		if err := g.RecordFailure(ctx, "a", "b"); !errors.Is(err, errBackendDown) {
			t.Fatalf("RecordFailure err = %v", err)
		}
		if _, _, err := g.Blocked(ctx, "a"); !errors.Is(err, errBackendDown) {
			t.Fatalf("Blocked err = %v", err)
		}
	})

	t.Run("an invalid limit is refused", func(t *testing.T) {
		if _, err := NewFailureGuard(FailureOptions{Limiter: NewMemory(MemoryOptions{})}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestFailureGuardMiddleware(t *testing.T) {
	t.Run("a blocked address is refused before its credentials are checked", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		metrics, _ := NewMetrics(reg)
		g := newGuard(t, NewMemory(MemoryOptions{Clock: newFakeClock()}), metrics)
		h := &recorder{}
		mw := g.Middleware(byHeader)(h)

		if rec := send(mw, http.MethodPost, "/login", "203.0.113.7", ""); rec.Code != http.StatusOK {
			t.Fatalf("status %d before any failure", rec.Code)
		}
		for range 10 {
			g.RecordFailure(ctx, "203.0.113.7")
		}
		rec := send(mw, http.MethodPost, "/login", "203.0.113.7", "")
		assertOAuthError(t, rec, http.StatusTooManyRequests, "12")
		if h.calls != 1 {
			t.Fatalf("handler called %d times, want 1", h.calls)
		}
		if got := testutil.ToFloat64(metrics.rejections.WithLabelValues("auth_failures")); got != 1 {
			t.Fatalf("auth_failures rejections = %v, want 1", got)
		}
		if rec := send(mw, http.MethodPost, "/login", "198.51.100.1", ""); rec.Code != http.StatusOK {
			t.Fatalf("another address got %d", rec.Code)
		}
	})

	t.Run("a failing limiter answers 503", func(t *testing.T) {
		g := newGuard(t, failingLimiter{}, nil)
		h := &recorder{}
		rec := send(g.Middleware(byHeader)(h), http.MethodPost, "/login", "a", "")
		assertOAuthError(t, rec, http.StatusServiceUnavailable, "1")
		if h.calls != 0 {
			t.Fatal("handler called")
		}
	})
}
