package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
)

// logLines collects JSON log lines, safe for concurrent writers.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// about returns the lines whose message starts with prefix.
func (l *logLines) about(t *testing.T, prefix string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := m["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func newLogLines() (*logLines, *slog.Logger) {
	l := &logLines{}
	return l, slog.New(slog.NewJSONHandler(l, nil))
}

func TestOutageLog(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	setup := func() (*logLines, *outageLog, *time.Time) {
		lines, log := newLogLines()
		o := newOutageLog(log, "thing", "mode", "local")
		now := start
		o.now = func() time.Time { return now }
		return lines, o, &now
	}
	down := errors.New("connection refused")

	t.Run("a thousand failures in a minute write a handful of lines", func(t *testing.T) {
		lines, o, now := setup()
		for range 1000 {
			o.failed(down)
			*now = now.Add(60 * time.Millisecond)
		}
		got := lines.about(t, "thing")
		if len(got) < 2 || len(got) > 3 {
			t.Fatalf("%d lines for 1000 failures in 60s, want the outage and a summary per 30s: %v", len(got), got)
		}
		first := got[0]
		if first["msg"] != "thing unavailable" || first["error"] != "connection refused" || first["mode"] != "local" || first["level"] != "WARN" {
			t.Errorf("first line = %v", first)
		}
		summary := got[1]
		if summary["msg"] != "thing still unavailable" || summary["failures"] != float64(500) || summary["down_for"] != "30s" || summary["error"] != "connection refused" {
			t.Errorf("summary = %v, want 500 failures since the first line, 30s into the outage", summary)
		}
	})
	t.Run("recovery is logged once, with the whole outage", func(t *testing.T) {
		lines, o, now := setup()
		for range 10 {
			o.failed(down)
		}
		*now = now.Add(15 * time.Second)
		for range 100 {
			o.ok()
		}
		got := lines.about(t, "thing recovered")
		if len(got) != 1 {
			t.Fatalf("%d recovery lines, want 1", len(got))
		}
		if got[0]["failures"] != float64(10) || got[0]["down_for"] != "15s" || got[0]["level"] != "INFO" {
			t.Errorf("recovery = %v, want 10 failures over 15s", got[0])
		}
	})
	t.Run("the next outage is announced again", func(t *testing.T) {
		lines, o, _ := setup()
		o.failed(down)
		o.ok()
		o.failed(down)
		if got := lines.about(t, "thing unavailable"); len(got) != 2 {
			t.Fatalf("%d outage lines for two outages", len(got))
		}
	})
	t.Run("a dependency that works writes nothing", func(t *testing.T) {
		lines, o, _ := setup()
		for range 100 {
			o.ok()
		}
		if got := lines.about(t, ""); len(got) != 0 {
			t.Fatalf("lines = %v", got)
		}
	})
}

// serveEdge sends n token requests through the edge's middleware.
func serveEdge(t *testing.T, e *edge, n int) {
	t.Helper()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for i := len(e.middleware) - 1; i >= 0; i-- {
		h = e.middleware[i](h)
	}
	for range n {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/oauth/token", nil))
	}
}

func edgeWithRedis(t *testing.T, redisURL, onFailure string) (*edge, *logLines) {
	t.Helper()
	lines, log := newLogLines()
	cfg := config.Defaults()
	cfg.Redis.URL, cfg.RateLimit.RedisFailure = redisURL, onFailure
	reg := prometheus.NewRegistry()
	rm, err := resilience.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := buildEdge(&cfg, reg, rm, log, testResources(t))
	if err != nil {
		t.Fatal(err)
	}
	return e, lines
}

func TestRateLimitBackendOutageIsLoggedOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + ln.Addr().String() + "/0"
	ln.Close()
	for _, mode := range []string{"local", "open", "closed"} {
		t.Run("failing "+mode, func(t *testing.T) {
			e, lines := edgeWithRedis(t, dead, mode)
			serveEdge(t, e, 400)
			got := lines.about(t, "rate limit")
			// The test runs in well under the summary interval: one line.
			if len(got) != 1 || got[0]["msg"] != "rate limit backend unavailable" || got[0]["on_failure"] != mode {
				t.Fatalf("%d lines for 400 requests against a dead Redis, want the outage once: %v", len(got), got[:min(len(got), 3)])
			}
		})
	}
}

// toggledProxy forwards TCP connections to target while up, and refuses
// (and cuts) them while down.
type toggledProxy struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newToggledProxy(t *testing.T, target string) *toggledProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &toggledProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setUp(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *toggledProxy) setUp(up bool) {
	p.up.Store(up)
	if up {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestRateLimitBackendRecoveryIsLoggedOnce(t *testing.T) {
	url := os.Getenv("OAUTH2_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("OAUTH2_TEST_REDIS_URL is not set and OAUTH2_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("OAUTH2_TEST_REDIS_URL is not set")
	}
	target := strings.TrimPrefix(url, "redis://")
	target, _, _ = strings.Cut(target, "/")
	p := newToggledProxy(t, target)
	e, lines := edgeWithRedis(t, "redis://"+p.ln.Addr().String()+"/0", "local")

	serveEdge(t, e, 200)
	if got := lines.about(t, "rate limit backend unavailable"); len(got) != 1 {
		t.Fatalf("%d outage lines for 200 requests against a dead Redis, want 1", len(got))
	}
	p.setUp(true)
	// The breaker lets a probe through 5s after it opened; a probe slower
	// than the 100 ms bound on a loaded machine opens it for 5s more.
	deadline := time.Now().Add(60 * time.Second)
	for len(lines.about(t, "rate limit backend recovered")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Redis is back, and no recovery was logged")
		}
		serveEdge(t, e, 10)
		time.Sleep(100 * time.Millisecond)
	}
	serveEdge(t, e, 200)
	if got := lines.about(t, "rate limit backend recovered"); len(got) != 1 || got[0]["failures"].(float64) < 200 {
		t.Fatalf("recovery lines = %v, want one counting every request that fell back", got)
	}
	if got := lines.about(t, "rate limit"); len(got) != 2 {
		t.Fatalf("%d lines about the rate limiter for one outage, want 2", len(got))
	}
}

// flakyEventLog fails while down.
type flakyEventLog struct{ down atomic.Bool }

func (f *flakyEventLog) AppendEvents(context.Context, ...ports.Event) error {
	if f.down.Load() {
		return resilience.ErrUnavailable
	}
	return nil
}

func TestEventOutboxOutageIsLoggedOnce(t *testing.T) {
	lines, log := newLogLines()
	store := &flakyEventLog{}
	p := &outboxPublisher{log: store, relay: func([]ports.Event) {}, fallback: events.Discard{},
		outage: newOutageLog(log, "event outbox", "events_go_to", "in-memory bus")}
	publish := func(n int) {
		for range n {
			if err := p.Publish(context.Background(), ports.Event{ID: "e", Type: "token.issued"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	store.down.Store(true)
	publish(500)
	store.down.Store(false)
	publish(500)
	got := lines.about(t, "event outbox")
	if len(got) != 2 || got[0]["msg"] != "event outbox unavailable" || got[1]["msg"] != "event outbox recovered" || got[1]["failures"] != float64(500) {
		t.Fatalf("%d lines for 500 events published while the outbox was down, want the outage and the recovery: %v", len(got), got[:min(len(got), 3)])
	}
}
