package app

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/httpapi"
	"oauth2-server.dev/ratelimit"
	"oauth2-server.dev/resilience"
)

// Edge settings that are not configuration: they follow from the machine
// and from the store timeouts.
const (
	requestDeadline = 10 * time.Second
	storeCallLimit  = 2 * time.Second
	queueTimeout    = 50 * time.Millisecond
	maxInFlight     = 1024
)

// edge is the part of the pipeline between the HTTP basics and the
// handlers: deadlines, load shedding, rate limits, bulkheads and the
// failed-authentication guard.
type edge struct {
	middleware []func(http.Handler) http.Handler
	bulkheads  map[string]func(http.Handler) http.Handler
	guard      httpapi.FailureGuard
}

// buildEdge builds the edge, pushing the Redis client of the rate limits,
// if any, onto res.
func buildEdge(cfg *config.Config, reg prometheus.Registerer, rm *resilience.Metrics, log *slog.Logger, res *resources) (*edge, error) {
	e := &edge{}
	e.middleware = append(e.middleware,
		resilience.Deadline(requestDeadline),
		resilience.Shed(resilience.ShedOptions{
			MaxInFlight: maxInFlight, RetryAfter: time.Second, Metrics: rm,
			Skip: func(r *http.Request) bool {
				switch r.URL.Path {
				case "/health", "/ready", "/metrics":
					return true
				}
				return false
			},
		}),
	)
	cores := runtime.GOMAXPROCS(0)
	e.bulkheads = map[string]func(http.Handler) http.Handler{
		"token":        resilience.Bulkhead(resilience.BulkheadOptions{Group: "token", MaxConcurrent: 256, QueueTimeout: queueTimeout, RetryAfter: time.Second, Metrics: rm}),
		"interactive":  resilience.Bulkhead(resilience.BulkheadOptions{Group: "interactive", MaxConcurrent: 4 * cores, QueueTimeout: time.Second, RetryAfter: time.Second, Metrics: rm}),
		"registration": resilience.Bulkhead(resilience.BulkheadOptions{Group: "registration", MaxConcurrent: 8, QueueTimeout: queueTimeout, RetryAfter: time.Second, Metrics: rm}),
		"admin":        resilience.Bulkhead(resilience.BulkheadOptions{Group: "admin", MaxConcurrent: 8, QueueTimeout: queueTimeout, RetryAfter: time.Second, Metrics: rm}),
	}
	if !cfg.RateLimit.Enabled {
		log.Warn("rate limiting is off (OAUTH2_RATE_LIMIT=0)")
		return e, nil
	}

	limits := rateLimits(cfg.RateLimit)
	lm, err := ratelimit.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	var limiter ratelimit.Limiter = ratelimit.NewMemory(ratelimit.MemoryOptions{})
	if cfg.Redis.URL != "" {
		client, err := newRedisClient(cfg.Redis.URL, redisRateLimitTimeout, log)
		if err != nil {
			return nil, err
		}
		res.push("rate limit Redis client", client.Close)
		// Every request asks Redis, and every request fails while it is
		// down: the log hears of the outage, not of each request.
		backend := newOutageLog(log, "rate limit backend", "on_failure", cfg.RateLimit.RedisFailure)
		ro := ratelimit.RedisOptions{
			Client:    client,
			Breaker:   resilience.NewBreaker(resilience.BreakerSettings{Name: "redis_ratelimit", Metrics: rm}),
			Metrics:   lm,
			OnError:   backend.failed,
			OnSuccess: backend.ok,
		}
		switch cfg.RateLimit.RedisFailure {
		case "local":
			ro.Fallback = limiter
		case "closed":
			ro.OnFailure = ratelimit.FailClosed
		case "open":
			ro.OnFailure = ratelimit.FailOpen
		}
		limiter = ratelimit.NewRedis(ro)
	}
	clientIP := func(r *http.Request) string { return httpapi.ClientIPFrom(r.Context()).String() }
	mw, err := ratelimit.Middleware(ratelimit.Options{
		Limiter: limiter, Rules: ratelimit.DefaultRules(limits, clientIP), Metrics: lm,
		OnError: func(r *http.Request, err error) {
			// An unavailable backend is the Redis limiter's outage, which
			// its own log line reports.
			if errors.Is(err, resilience.ErrUnavailable) {
				return
			}
			log.WarnContext(r.Context(), "rate limit check failed", "error", err)
		},
	})
	if err != nil {
		return nil, err
	}
	guard, err := ratelimit.NewFailureGuard(ratelimit.FailureOptions{Limiter: limiter, Limit: limits.Failures, Metrics: lm})
	if err != nil {
		return nil, err
	}
	e.middleware = append(e.middleware, mw)
	e.guard = guard
	return e, nil
}

// rateLimits are the configured budgets, defaults included.
func rateLimits(rl config.RateLimit) ratelimit.Limits {
	limit := func(r config.Rate) ratelimit.Limit {
		return ratelimit.Limit{Rate: r.Count, Per: r.Per, Burst: r.Burst}
	}
	return ratelimit.Limits{
		Token:        limit(rl.Token),
		UserInfo:     limit(rl.UserInfo),
		Interactive:  limit(rl.Interactive),
		Registration: limit(rl.Registration),
		Failures:     limit(rl.Failures),
	}
}
