package servicetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/ports"
)

// Environment variables naming the servers.
const (
	RedisEnv   = "OAUTH2_TEST_REDIS_URL"
	NATSEnv    = "OAUTH2_TEST_NATS_URL"
	RequireEnv = "OAUTH2_TEST_REQUIRE_SERVICES"
)

// RedisURL returns $OAUTH2_TEST_REDIS_URL or skips (fails when required).
func RedisURL(tb testing.TB) string {
	tb.Helper()
	return lookup(tb, RedisEnv)
}

// NATSURL returns $OAUTH2_TEST_NATS_URL or skips (fails when required).
func NATSURL(tb testing.TB) string {
	tb.Helper()
	return lookup(tb, NATSEnv)
}

func lookup(tb testing.TB, env string) string {
	tb.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s is not set and %s=1: this test needs the real server", env, RequireEnv)
	}
	tb.Skipf("%s is not set: skipping this test against a real server", env)
	return ""
}

// Redis connects to the configured Redis, checks it answers, and closes
// the client when the test ends.
func Redis(tb testing.TB) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(RedisURL(tb))
	if err != nil {
		tb.Fatalf("parse %s: %v", RedisEnv, err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() }) // the test is over; a failed close changes nothing it saw
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redis at %s: %v", RedisEnv, err)
	}
	return c
}

// NATS connects to the configured NATS server and closes the connection
// when the test ends.
func NATS(tb testing.TB) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(NATSURL(tb), nats.Timeout(5*time.Second))
	if err != nil {
		tb.Fatalf("nats at %s: %v", NATSEnv, err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// Unique returns prefix followed by a random suffix, usable as a Redis
// key, a JetStream stream name and a NATS subject token.
func Unique(prefix string) string {
	return prefix + "_" + ports.NewEventID()[:16]
}
