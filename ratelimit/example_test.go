package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/ratelimit"
	"oauth2-server.dev/resilience"
)

func ExampleNewMemory() {
	l := ratelimit.NewMemory(ratelimit.MemoryOptions{})
	limit := ratelimit.PerSecond(1, 2)
	for range 3 {
		d, _ := l.AllowN(context.Background(), "203.0.113.7", limit, 1)
		fmt.Println(d.Allowed, d.Remaining)
	}
	// Output:
	// true 1
	// true 0
	// false 0
}

// A Redis limiter as the server runs it: budgets shared by every replica,
// and a local budget while Redis is unreachable.
func ExampleNewRedis() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	reg := prometheus.NewRegistry()
	metrics, _ := ratelimit.NewMetrics(reg)
	breakerMetrics, _ := resilience.NewMetrics(reg)

	l := ratelimit.NewRedis(ratelimit.RedisOptions{
		Client:   client,
		Timeout:  50 * time.Millisecond,
		Breaker:  resilience.NewBreaker(resilience.BreakerSettings{Name: "redis_ratelimit", Metrics: breakerMetrics}),
		Fallback: ratelimit.NewMemory(ratelimit.MemoryOptions{}),
		OnError:  func(err error) { slog.Warn("rate limiter: Redis unavailable", "error", err) },
		Metrics:  metrics,
	})
	_, _ = l.AllowN(context.Background(), "token_ip:203.0.113.7", ratelimit.PerSecond(50, 100), 1)
}

func ExampleMiddleware() {
	clientIP := func(r *http.Request) string { return r.Header.Get("X-Test-IP") }
	mw, err := ratelimit.Middleware(ratelimit.Options{
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{}),
		Rules: []ratelimit.Rule{{
			Name:  "token_ip",
			Match: ratelimit.Paths("/oauth/token"),
			Limit: ratelimit.PerMinute(1, 1),
			Key:   clientIP,
		}},
	})
	if err != nil {
		panic(err)
	}
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for range 2 {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		r.Header.Set("X-Test-IP", "203.0.113.7")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			fmt.Println(rec.Code, "RateLimit-Remaining:", rec.Header().Get("RateLimit-Remaining"))
			continue
		}
		fmt.Print(rec.Code, " Retry-After: ", rec.Header().Get("Retry-After"), " ", rec.Body)
	}
	// Output:
	// 200 RateLimit-Remaining: 0
	// 429 Retry-After: 60 {"error":"temporarily_unavailable","error_description":"too many requests, retry after 60 seconds"}
}

func ExampleNewFailureGuard() {
	g, _ := ratelimit.NewFailureGuard(ratelimit.FailureOptions{
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{}),
		Limit:   ratelimit.PerMinute(5, 3),
	})
	ctx := context.Background()
	// A handler, after a wrong password:
	for range 3 {
		_ = g.RecordFailure(ctx, "ip:203.0.113.7", "user:alice")
	}
	// and before checking the next one:
	blocked, wait, _ := g.Blocked(ctx, "ip:198.51.100.1", "user:alice")
	fmt.Println(blocked, wait.Round(time.Second))
	// Output: true 12s
}

func ExampleDefaultRules() {
	clientIP := func(r *http.Request) string { return r.RemoteAddr }
	for _, r := range ratelimit.DefaultRules(ratelimit.DefaultLimits(), clientIP) {
		fmt.Printf("%s %d/%v burst %d\n", r.Name, r.Limit.Rate, r.Limit.Per, r.Limit.Burst)
	}
	// Output:
	// token_ip 50/1s burst 100
	// token_client 50/1s burst 100
	// userinfo_ip 50/1s burst 100
	// interactive_ip 10/1s burst 20
	// registration_ip 1/1s burst 5
}

func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	metrics, err := ratelimit.NewMetrics(reg)
	if err != nil {
		panic(err)
	}
	_, _ = ratelimit.Middleware(ratelimit.Options{
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{}),
		Rules:   []ratelimit.Rule{{Name: "token_ip", Limit: ratelimit.PerSecond(50, 100), Key: func(r *http.Request) string { return r.RemoteAddr }}},
		Metrics: metrics,
	})

	families, _ := reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			fmt.Print(f.GetName())
			for _, l := range m.GetLabel() {
				fmt.Printf(" %s=%s", l.GetName(), l.GetValue())
			}
			fmt.Println()
		}
	}
	// Output:
	// oauth2_ratelimit_backend_errors_total
	// oauth2_ratelimit_rejections_total rule=token_ip
}
