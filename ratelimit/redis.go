package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/resilience"
)

// gcraScript is the whole of the Redis limiter: one key, read, decided and
// written in one atomic step, so any number of replicas draw on one budget
// without races. It takes the time from the Redis server rather than from
// the callers, whose clocks may disagree. Times are integer microseconds,
// exact in a Lua number (a double) for centuries to come.
//
// KEYS[1] the bucket; ARGV[1] emission interval in microseconds; ARGV[2]
// burst; ARGV[3] n (0 peeks). Returns {allowed, remaining, retry_after_us,
// reset_after_us}. The key expires when the budget is full again, when it
// would mean the same as no key.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local cost = n
if cost < 1 then
  cost = 1
end
local nxt = tat + cost * interval
if nxt - now > tolerance then
  return {0, math.floor((tolerance - (tat - now)) / interval), nxt - tolerance - now, tat - now}
end
if n == 0 then
  return {1, math.floor((tolerance - (tat - now)) / interval), 0, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt))
redis.call('PEXPIRE', KEYS[1], math.ceil((nxt - now) / 1000))
return {1, math.floor((tolerance - (nxt - now)) / interval), 0, nxt - now}
`)

// FailureMode says what a Redis limiter answers when Redis does not.
type FailureMode int

const (
	// FailOpen allows requests while Redis is unavailable: the rate limit
	// lapses, the service does not.
	FailOpen FailureMode = iota
	// FailClosed refuses requests while Redis is unavailable: AllowN
	// returns an error matching resilience.ErrUnavailable, which the
	// middleware answers with 503.
	FailClosed
)

// RedisOptions configures a Redis limiter.
type RedisOptions struct {
	// Client is a *redis.Client, *redis.ClusterClient or *redis.Ring. It
	// must honour context deadlines (ContextTimeoutEnabled): go-redis
	// otherwise waits out its own socket timeouts, 5 seconds by default,
	// and Timeout bounds nothing against a Redis that stops answering.
	Client redis.Scripter
	// Prefix namespaces the limiter's keys. Default "oauth2:ratelimit:".
	Prefix string
	// Timeout bounds each call. Default 100ms: a limiter that waits longer
	// than that costs more than it protects.
	Timeout time.Duration
	// Breaker guards the calls; default a breaker named "redis_ratelimit"
	// with the resilience defaults. Once it opens, an unreachable Redis
	// costs no latency at all.
	Breaker *resilience.Breaker
	// OnFailure is what to answer while Redis is unavailable. Default
	// FailOpen. Fallback, when set, takes precedence.
	OnFailure FailureMode
	// Fallback, if set, answers while Redis is unavailable: an in-memory
	// limiter keeps per-replica budgets through the outage, neither
	// dropping the limit nor refusing everyone.
	Fallback Limiter
	// OnError, if set, is told of every Redis failure, for logging.
	OnError func(error)
	// OnSuccess, if set, is told of every call Redis answered, so that
	// whoever logs the failures can tell when an outage ended.
	OnSuccess func()
	// Metrics counts Redis failures; nil records nothing.
	Metrics *Metrics
}

// Redis is a GCRA limiter whose budgets live in Redis, shared by every
// replica that uses the same Redis and prefix.
type Redis struct {
	o RedisOptions
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a Redis limiter.
func NewRedis(o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "oauth2:ratelimit:"
	}
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.Breaker == nil {
		o.Breaker = resilience.NewBreaker(resilience.BreakerSettings{Name: "redis_ratelimit"})
	}
	return &Redis{o: o}
}

// AllowN implements Limiter.
// budgetKey names the Redis key of a budget. The limit is part of the
// name: the stored state only means something under the limit that wrote
// it, so replicas (or deployments) running different limits on one Redis
// keep separate budgets instead of misreading each other's.
func budgetKey(key string, limit Limit) string {
	return hashedKey(fmt.Sprintf("%s|%d/%d:%d", key, limit.Rate, limit.Per, limit.Burst))
}

func (r *Redis) AllowN(ctx context.Context, key string, limit Limit, n int) (Decision, error) {
	if err := checkRequest(limit, n); err != nil {
		return Decision{}, err
	}
	interval := limit.interval().Microseconds()
	var res []int64
	err := r.o.Breaker.Do(ctx, r.o.Timeout, func(ctx context.Context) error {
		var err error
		res, err = gcraScript.Run(ctx, r.o.Client, []string{r.o.Prefix + budgetKey(key, limit)}, interval, limit.Burst, n).Int64Slice()
		if err == nil && len(res) != 4 {
			err = fmt.Errorf("ratelimit: unexpected script reply %v", res)
		}
		return err
	})
	if err != nil {
		return r.failed(ctx, key, limit, n, err)
	}
	if r.o.OnSuccess != nil {
		r.o.OnSuccess()
	}
	return Decision{
		Allowed:    res[0] == 1,
		Limit:      limit,
		Remaining:  int(max(res[1], 0)),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

func (r *Redis) failed(ctx context.Context, key string, limit Limit, n int, err error) (Decision, error) {
	r.o.Metrics.backendFailed()
	if r.o.OnError != nil {
		r.o.OnError(err)
	}
	if r.o.Fallback != nil {
		return r.o.Fallback.AllowN(ctx, key, limit, n)
	}
	if r.o.OnFailure == FailClosed {
		return Decision{Limit: limit}, err
	}
	return Decision{Allowed: true, Limit: limit, Remaining: limit.Burst - n}, nil
}
