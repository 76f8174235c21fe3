package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var ctx = context.Background()

func TestMemoryAdmissions(t *testing.T) {
	type step struct {
		advance  time.Duration // before sending
		requests int
		admitted int
	}
	// every repeats the pattern n times.
	every := func(n int, pattern ...step) []step {
		var out []step
		for range n {
			out = append(out, pattern...)
		}
		return out
	}
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"a burst at one instant admits exactly the burst", PerSecond(10, 5),
			[]step{{0, 20, 5}}},
		{"one interval gives back one request", PerSecond(10, 5),
			[]step{{0, 5, 5}, {100 * time.Millisecond, 3, 1}, {99 * time.Millisecond, 1, 0}, {time.Millisecond, 1, 1}}},
		{"a quiet spell refills the burst and no more", PerSecond(10, 5),
			[]step{{0, 5, 5}, {time.Hour, 10, 5}}},
		{"traffic at the rate is always admitted", PerSecond(10, 1),
			every(100, step{100 * time.Millisecond, 1, 1})},
		{"traffic at twice the rate is admitted at the rate", PerSecond(10, 1),
			every(50, step{50 * time.Millisecond, 1, 1}, step{50 * time.Millisecond, 1, 0})},
		{"per-minute budgets refill every twelve seconds", PerMinute(5, 10),
			[]step{{0, 12, 10}, {12 * time.Second, 2, 1}, {59 * time.Second, 10, 4}}},
		{"refused requests do not delay the refill", PerSecond(1, 2),
			[]step{{0, 2, 2}, {500 * time.Millisecond, 100, 0}, {500 * time.Millisecond, 1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			m := NewMemory(MemoryOptions{Clock: clock})
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				admitted := 0
				for range s.requests {
					d, err := m.AllowN(ctx, "k", tt.limit, 1)
					if err != nil {
						t.Fatal(err)
					}
					if d.Allowed {
						admitted++
					}
				}
				if admitted != s.admitted {
					t.Fatalf("step %d: admitted %d of %d, want %d", i, admitted, s.requests, s.admitted)
				}
			}
		})
	}
}

func TestMemoryDecision(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Clock: clock})
	limit := PerSecond(10, 5)
	ms := time.Millisecond

	tests := []struct {
		name    string
		advance time.Duration
		n       int
		want    Decision
	}{
		{"a peek at a new key sees a full budget", 0, 0, Decision{Allowed: true, Remaining: 5}},
		{"the first request leaves four", 0, 1, Decision{Allowed: true, Remaining: 4, ResetAfter: 100 * ms}},
		{"a peek takes nothing", 0, 0, Decision{Allowed: true, Remaining: 4, ResetAfter: 100 * ms}},
		{"three at once leave one", 0, 3, Decision{Allowed: true, Remaining: 1, ResetAfter: 400 * ms}},
		{"two do not fit in one and take nothing", 0, 2, Decision{Remaining: 1, RetryAfter: 100 * ms, ResetAfter: 400 * ms}},
		{"the last one fits", 0, 1, Decision{Allowed: true, Remaining: 0, ResetAfter: 500 * ms}},
		{"the next is told to wait one interval", 0, 1, Decision{Remaining: 0, RetryAfter: 100 * ms, ResetAfter: 500 * ms}},
		{"a peek at an empty budget says when", 30 * ms, 0, Decision{Remaining: 0, RetryAfter: 70 * ms, ResetAfter: 470 * ms}},
		{"after the wait it fits", 70 * ms, 1, Decision{Allowed: true, Remaining: 0, ResetAfter: 500 * ms}},
		{"a full window later the budget is full", time.Second, 0, Decision{Allowed: true, Remaining: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			got, err := m.AllowN(ctx, "k", limit, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Limit = limit
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMemoryRefusesInvalidRequests(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		n     int
	}{
		{"zero rate", Limit{Rate: 0, Per: time.Second, Burst: 1}, 1},
		{"zero period", Limit{Rate: 1, Burst: 1}, 1},
		{"zero burst", PerSecond(1, 0), 1},
		{"more than one a microsecond", PerSecond(2_000_000, 1), 1},
		{"n above the burst", PerSecond(1, 2), 3},
		{"negative n", PerSecond(1, 2), -1},
	}
	m := NewMemory(MemoryOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.AllowN(ctx, "k", tt.limit, tt.n); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestMemoryKeys(t *testing.T) {
	t.Run("keys have separate budgets", func(t *testing.T) {
		m := NewMemory(MemoryOptions{Clock: newFakeClock()})
		for _, k := range []string{"a", "b", "c"} {
			for i := range 2 {
				if d, _ := m.AllowN(ctx, k, PerSecond(1, 2), 1); !d.Allowed {
					t.Fatalf("key %s request %d refused", k, i)
				}
			}
			if d, _ := m.AllowN(ctx, k, PerSecond(1, 2), 1); d.Allowed {
				t.Fatalf("key %s: third request allowed", k)
			}
		}
	})

	t.Run("long keys are limited like short ones", func(t *testing.T) {
		m := NewMemory(MemoryOptions{Clock: newFakeClock()})
		long := string(make([]byte, 10_000))
		m.AllowN(ctx, long, PerSecond(1, 1), 1)
		if d, _ := m.AllowN(ctx, long, PerSecond(1, 1), 1); d.Allowed {
			t.Fatal("second request on a long key allowed")
		}
	})

	t.Run("a flood of keys stays within MaxKeys", func(t *testing.T) {
		const maxKeys = 256
		m := NewMemory(MemoryOptions{MaxKeys: maxKeys, Clock: newFakeClock()})
		for i := range 20_000 {
			m.AllowN(ctx, fmt.Sprint("client-", i), PerMinute(1, 1), 1)
		}
		if got := m.keys(); got > maxKeys {
			t.Fatalf("%d keys remembered, bound %d", got, maxKeys)
		}
	})

	t.Run("peeks remember nothing", func(t *testing.T) {
		m := NewMemory(MemoryOptions{Clock: newFakeClock()})
		for i := range 100 {
			m.AllowN(ctx, fmt.Sprint("client-", i), PerMinute(1, 1), 0)
		}
		if got := m.keys(); got != 0 {
			t.Fatalf("%d keys remembered after peeks", got)
		}
	})

	t.Run("idle keys are forgotten before live ones", func(t *testing.T) {
		clock := newFakeClock()
		// Two keys per shard.
		m := NewMemory(MemoryOptions{MaxKeys: 2 * shardCount, Clock: clock})
		shard := func(k string) uint64 { return maphash.String(m.seed, k) % shardCount }
		live := "live"
		var same []string
		for i := 0; len(same) < 2; i++ {
			if k := fmt.Sprint("k", i); shard(k) == shard(live) {
				same = append(same, k)
			}
		}
		idle, newcomer := same[0], same[1]

		m.AllowN(ctx, live, PerMinute(1, 1), 1)     // blocked for a minute
		m.AllowN(ctx, idle, PerSecond(1, 1), 1)     // full again after a second
		clock.Advance(2 * time.Second)              // idle's budget is full again
		m.AllowN(ctx, newcomer, PerMinute(1, 1), 1) // the shard is full: make room

		if d, _ := m.AllowN(ctx, live, PerMinute(1, 1), 1); d.Allowed {
			t.Fatal("the live key was forgotten instead of the idle one")
		}
		if got := m.keys(); got != 2 {
			t.Fatalf("%d keys remembered, want 2 (live and newcomer)", got)
		}
	})
}

func TestMemoryConcurrentRequestsShareOneBudget(t *testing.T) {
	m := NewMemory(MemoryOptions{Clock: newFakeClock()})
	const burst = 50
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			for range 10 {
				if d, _ := m.AllowN(ctx, "shared", PerSecond(1, burst), 1); d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != burst {
		t.Fatalf("admitted %d of 1000 with a frozen clock, want exactly %d", got, burst)
	}
}
