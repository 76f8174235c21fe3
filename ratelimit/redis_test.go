package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/resilience"
)

// testRedis returns a client of the Redis named by OAUTH2_TEST_REDIS_URL and
// a key prefix unique to this test, whose keys are deleted afterwards. It
// skips the test when the variable is unset, unless
// OAUTH2_TEST_REQUIRE_SERVICES=1 makes that a failure.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("OAUTH2_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("OAUTH2_TEST_REDIS_URL is not set and OAUTH2_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("OAUTH2_TEST_REDIS_URL is not set: skipping the tests against a real Redis")
	}
	c := newRedisClient(t, url)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at OAUTH2_TEST_REDIS_URL: %v", err)
	}
	var b [8]byte
	rand.Read(b[:])
	prefix := "oauth2test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	return c, prefix
}

// newRedisClient opens a separate client, with its own connections, as a
// separate server process would.
func newRedisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// slow is a budget that cannot refill while a test runs: exactly burst
// requests fit, however long the test takes.
func slow(burst int) Limit { return Limit{Rate: 1, Per: 24 * time.Hour, Burst: burst} }

func TestRedisSharedBudget(t *testing.T) {
	c, prefix := testRedis(t)
	url := os.Getenv("OAUTH2_TEST_REDIS_URL")

	t.Run("two limiters on separate connections admit exactly one budget", func(t *testing.T) {
		const burst, perReplica = 20, 100
		// Two hundred calls at once can outlast the 100 ms call bound on a
		// loaded machine, and a failed call would be admitted (fail open)
		// and counted against the budget: this test is about one budget
		// across connections, so calls get time and failures are errors.
		shared := func(client *redis.Client) *Redis {
			return NewRedis(RedisOptions{Client: client, Prefix: prefix, Timeout: 10 * time.Second, OnFailure: FailClosed})
		}
		replicas := []*Redis{shared(c), shared(newRedisClient(t, url))}
		var admitted, refused atomic.Int64
		var wg sync.WaitGroup
		for _, l := range replicas {
			for range perReplica {
				wg.Go(func() {
					d, err := l.AllowN(ctx, "shared", slow(burst), 1)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						admitted.Add(1)
					} else {
						refused.Add(1)
					}
				})
			}
		}
		wg.Wait()
		if admitted.Load() != burst || refused.Load() != 2*perReplica-burst {
			t.Fatalf("admitted %d, refused %d of %d; want exactly %d admitted", admitted.Load(), refused.Load(), 2*perReplica, burst)
		}
	})

	t.Run("two servers answer 429 beyond one shared budget", func(t *testing.T) {
		const burst, requests = 15, 60
		rule := Rule{Name: "token_ip", Limit: slow(burst), Key: func(*http.Request) string { return "203.0.113.7" }}
		var servers []*httptest.Server
		for _, client := range []*redis.Client{c, newRedisClient(t, url)} {
			mw := mustMiddleware(t, Options{Limiter: NewRedis(RedisOptions{Client: client, Prefix: prefix, Timeout: 10 * time.Second, OnFailure: FailClosed}), Rules: []Rule{rule}})
			srv := httptest.NewServer(mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			t.Cleanup(srv.Close)
			servers = append(servers, srv)
		}
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				resp, err := http.Post(servers[i%2].URL+"/oauth/token", "application/x-www-form-urlencoded", nil)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[http.StatusOK] != burst || codes[http.StatusTooManyRequests] != requests-burst {
			t.Fatalf("status counts %v; want %d × 200 and %d × 429", codes, burst, requests-burst)
		}
	})

	t.Run("a failure guard blocks on every replica", func(t *testing.T) {
		a := newGuard(t, NewRedis(RedisOptions{Client: c, Prefix: prefix}), nil)
		b := newGuard(t, NewRedis(RedisOptions{Client: newRedisClient(t, url), Prefix: prefix}), nil)
		for range 10 {
			if err := a.RecordFailure(ctx, "user:alice"); err != nil {
				t.Fatal(err)
			}
		}
		blocked, wait, err := b.Blocked(ctx, "user:alice")
		if err != nil || !blocked || wait <= 0 || wait > 12*time.Second {
			t.Fatalf("Blocked on the other replica = %v, %v, %v", blocked, wait, err)
		}
	})
}

func TestRedisDecision(t *testing.T) {
	c, prefix := testRedis(t)
	l := NewRedis(RedisOptions{Client: c, Prefix: prefix})
	limit := slow(3)

	steps := []struct {
		name          string
		n             int
		wantAllowed   bool
		wantRemaining int
	}{
		{"a peek at a new key sees a full budget", 0, true, 3},
		{"the first request leaves two", 1, true, 2},
		{"a peek takes nothing", 0, true, 2},
		{"two at once leave none", 2, true, 0},
		{"the next is refused", 1, false, 0},
		{"a peek at an empty budget is refused", 0, false, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			d, err := l.AllowN(ctx, "k", limit, s.n)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != s.wantAllowed || d.Remaining != s.wantRemaining {
				t.Fatalf("allowed %v remaining %d; want %v %d", d.Allowed, d.Remaining, s.wantAllowed, s.wantRemaining)
			}
			// The server's clock moves while the test runs, so times are
			// checked against their bounds only.
			interval := limit.interval()
			if s.wantAllowed && d.RetryAfter != 0 || !s.wantAllowed && (d.RetryAfter <= 0 || d.RetryAfter > interval) {
				t.Fatalf("RetryAfter = %v", d.RetryAfter)
			}
			if d.ResetAfter < 0 || d.ResetAfter > limit.window() {
				t.Fatalf("ResetAfter = %v", d.ResetAfter)
			}
		})
	}

	t.Run("the key expires when the budget is full again", func(t *testing.T) {
		ttl, err := c.PTTL(ctx, prefix+budgetKey("k", limit)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > limit.window() {
			t.Fatalf("PTTL = %v, want within (0, %v]", ttl, limit.window())
		}
	})

	t.Run("keys in Redis do not show the client's key", func(t *testing.T) {
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0] != prefix+budgetKey("k", limit) {
			t.Fatalf("keys = %v", keys)
		}
	})

	t.Run("invalid requests never reach Redis", func(t *testing.T) {
		if _, err := l.AllowN(ctx, "k", Limit{}, 1); err == nil {
			t.Fatal("no error for a zero limit")
		}
	})
}

// countingHook counts the commands a client sends.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// deadRedis returns a client of an address where nothing listens, and the
// hook that counts what it sends. It needs no Redis.
func deadRedis(t *testing.T) (*redis.Client, *countingHook) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	hook := &countingHook{}
	c.AddHook(hook)
	return c, hook
}

func TestRedisUnreachable(t *testing.T) {
	tests := []struct {
		name        string
		opts        RedisOptions
		wantAllowed []bool // outcome of successive requests
		wantErr     bool
	}{
		{"fail open allows every request", RedisOptions{OnFailure: FailOpen}, []bool{true, true, true, true}, false},
		{"fail closed refuses with an error", RedisOptions{OnFailure: FailClosed}, []bool{false, false}, true},
		{"a fallback limiter keeps a local budget", RedisOptions{OnFailure: FailClosed, Fallback: NewMemory(MemoryOptions{Clock: newFakeClock()})}, []bool{true, true, false, false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := deadRedis(t)
			reg := prometheus.NewRegistry()
			metrics, _ := NewMetrics(reg)
			var reported atomic.Int64
			o := tt.opts
			o.Client, o.Metrics = c, metrics
			o.OnError = func(error) { reported.Add(1) }
			l := NewRedis(o)
			for i, want := range tt.wantAllowed {
				d, err := l.AllowN(ctx, "k", PerMinute(1, 2), 1)
				if (err != nil) != tt.wantErr {
					t.Fatalf("request %d: err = %v", i, err)
				}
				if err != nil && !errors.Is(err, resilience.ErrUnavailable) {
					t.Fatalf("request %d: err = %v, want resilience.ErrUnavailable", i, err)
				}
				if d.Allowed != want {
					t.Fatalf("request %d: allowed = %v, want %v", i, d.Allowed, want)
				}
			}
			n := float64(len(tt.wantAllowed))
			if got := testutil.ToFloat64(metrics.backendFailure); got != n || reported.Load() != int64(n) {
				t.Fatalf("backend errors counted %v, reported %d; want %v", got, reported.Load(), n)
			}
		})
	}

	t.Run("fail closed answers 503 through the middleware", func(t *testing.T) {
		c, _ := deadRedis(t)
		h := &recorder{}
		mw := mustMiddleware(t, Options{
			Limiter: NewRedis(RedisOptions{Client: c, OnFailure: FailClosed}),
			Rules:   []Rule{{Name: "token_ip", Limit: PerSecond(1, 1), Key: byHeader}},
		})(h)
		assertOAuthError(t, send(mw, http.MethodPost, "/oauth/token", "a", ""), http.StatusServiceUnavailable, "1")
		if h.calls != 0 {
			t.Fatal("handler called")
		}
	})

	t.Run("fail open serves through the middleware", func(t *testing.T) {
		c, _ := deadRedis(t)
		mw := mustMiddleware(t, Options{
			Limiter: NewRedis(RedisOptions{Client: c}),
			Rules:   []Rule{{Name: "token_ip", Limit: PerSecond(1, 1), Key: byHeader}},
		})(&recorder{})
		for range 3 {
			if rec := send(mw, http.MethodPost, "/oauth/token", "a", ""); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
		}
	})

	t.Run("an open breaker stops calling Redis", func(t *testing.T) {
		c, hook := deadRedis(t)
		b := resilience.NewBreaker(resilience.BreakerSettings{Name: "redis_ratelimit", Failures: 2, OpenFor: time.Hour})
		l := NewRedis(RedisOptions{Client: c, Breaker: b})
		for range 2 {
			l.AllowN(ctx, "k", PerSecond(1, 1), 1)
		}
		if b.State() != resilience.StateOpen {
			t.Fatalf("breaker %v after two failures, want open", b.State())
		}
		sent := hook.n.Load()
		for range 100 {
			if d, _ := l.AllowN(ctx, "k", PerSecond(1, 1), 1); !d.Allowed {
				t.Fatal("refused while failing open")
			}
		}
		if got := hook.n.Load(); got != sent {
			t.Fatalf("%d commands reached the client through an open breaker", got-sent)
		}
	})
}
