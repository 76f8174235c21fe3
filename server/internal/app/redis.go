package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deadlines of the server's Redis clients. A Redis that accepts
// connections and answers nothing must cost each call no more than these.
const (
	// redisRateLimitTimeout is the rate limiter's bound on a check, the
	// default of ratelimit.RedisOptions.Timeout: a limiter that waits
	// longer costs more than it protects.
	redisRateLimitTimeout = 100 * time.Millisecond
	// redisSinkTimeout is the event sink's bound on a batch, its sends'
	// own bound.
	redisSinkTimeout = sinkSendTimeout
)

// newRedisClient connects to the Redis at url (OAUTH2_REDIS_URL) for calls
// that must end within bound.
//
// go-redis ignores a call's context deadline unless told otherwise and
// waits out its own socket timeouts, 5 seconds by default, so a Redis that
// stops answering would hold every caller that long whatever deadline it
// set. Here the context's deadline bounds every call, and the dial, read,
// write and pool timeouts the URL leaves unset are bound, for calls made
// without a deadline.
//
// go-redis writes its own lines to stderr, one per failed dial, outside the
// server's JSON log: those go to log at debug level, since the breakers
// and outage logs report an outage once.
func newRedisClient(url string, bound time.Duration, log *slog.Logger) (*redis.Client, error) {
	redis.SetLogger(redisLog{log})
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("OAUTH2_REDIS_URL: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	for _, d := range []*time.Duration{&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout} {
		if *d == 0 {
			*d = bound
		}
	}
	return redis.NewClient(opts), nil
}

// redisLog hands go-redis's log lines to the server's log at debug level.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}
