package app

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/faultproxy"
	"oauth2-server.dev/resilience"
)

// testService returns the address in the environment variable name, or
// skips the test (fails it when OAUTH2_TEST_REQUIRE_SERVICES=1).
func testService(t *testing.T, name string) string {
	t.Helper()
	if u := os.Getenv(name); u != "" {
		return u
	}
	if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s not set but OAUTH2_TEST_REQUIRE_SERVICES=1", name)
	}
	t.Skipf("%s not set", name)
	return ""
}

// proxied returns the service URL raw with its host replaced by a fault
// proxy to it, and the proxy.
func proxied(t *testing.T, raw string) (string, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	p := faultproxy.New(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// stalled is far below the 5 seconds go-redis waits by default, far above
// the bounds the server sets (100 ms for the rate limiter).
const stalled = time.Second

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRateLimitOnBlackHoledRedis(t *testing.T) {
	redisURL, proxy := proxied(t, testService(t, "OAUTH2_TEST_REDIS_URL"))
	cfg := config.Defaults()
	cfg.RateLimit.Enabled = true
	cfg.Redis.URL = redisURL
	cfg.RateLimit.RedisFailure = "local"
	cfg.RateLimit.Token = config.Rate{Count: 1, Per: time.Minute, Burst: 1}
	reg := prometheus.NewRegistry()
	rm, err := resilience.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := buildEdge(&cfg, reg, rm, quietLog(), testResources(t))
	if err != nil {
		t.Fatalf("buildEdge: %v", err)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for i := len(e.middleware) - 1; i >= 0; i-- {
		h = e.middleware[i](h)
	}
	// A client of its own per run: the Redis budget outlives the test.
	client := rand.Text()
	post := func(client string) (int, time.Duration) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{"client_id": {client}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		return rec.Code, time.Since(start)
	}

	// A first request opens a connection to Redis, which the black hole
	// then stalls; later ones may dial new connections, which it accepts
	// and never answers. It names another client: on a loaded machine it
	// may outlast the bound and spend a local budget, which must not be
	// the one the test counts on.
	if _, took := post(rand.Text()); took > stalled {
		t.Fatalf("a request with Redis answering took %v", took)
	}
	proxy.SetMode(faultproxy.BlackHole)
	t.Run("requests are answered within the limiter's bound", func(t *testing.T) {
		for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
			code, took := post(client)
			if took > stalled {
				t.Fatalf("request %d took %v with Redis black-holed, want the 100 ms bound", i+1, took)
			}
			// OAUTH2_RATE_LIMIT_REDIS_FAILURE=local: the replica's own
			// budget of one request applies.
			if code != want {
				t.Errorf("request %d answered %d with Redis black-holed, want %d from the local budget", i+1, code, want)
			}
		}
	})
}

func TestRedisEventSinkOnBlackHoledRedis(t *testing.T) {
	redisURL, proxy := proxied(t, testService(t, "OAUTH2_TEST_REDIS_URL"))
	cfg := config.Defaults()
	cfg.Redis.URL = redisURL
	cfg.Events.Sinks = []string{"redis"}
	sinks, err := eventSinks(&cfg, quietLog(), testResources(t))
	if err != nil {
		t.Fatalf("eventSinks: %v", err)
	}
	if len(sinks) != 1 {
		t.Fatalf("eventSinks built %d sinks, want the redis one", len(sinks))
	}
	send := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		ev := ports.Event{ID: ports.NewEventID(), Time: time.Now(), Type: ports.EventTokenRevoked, Tenant: ports.DefaultTenant}
		start := time.Now()
		err := sinks[0].Send(ctx, []ports.Event{ev})
		return time.Since(start), err
	}
	if _, err := send(); err != nil {
		t.Fatalf("Send with Redis answering: %v", err)
	}
	proxy.SetMode(faultproxy.BlackHole)
	took, err := send()
	if err == nil {
		t.Fatal("Send to a black-holed Redis succeeded")
	}
	if took > stalled {
		t.Fatalf("Send to a black-holed Redis with a 200 ms deadline took %v", took)
	}
}

// TestRedisClientLogsThroughTheServerLog: go-redis reports every failed
// dial itself; those lines belong in the server's JSON log, at debug
// level, not on stderr once per request during an outage.
func TestRedisClientLogsThroughTheServerLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := newRedisClient("redis://"+nobody+"/0", 100*time.Millisecond, log)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Ping(t.Context()).Err(); err == nil {
		t.Fatal("a ping to an address nobody listens on succeeded")
	}
	if !strings.Contains(buf.String(), `"level":"DEBUG","msg":"redis client"`) || !strings.Contains(buf.String(), "failed to dial") {
		t.Fatalf("the server log has no debug line of the client's failed dial:\n%s", buf.String())
	}
}
