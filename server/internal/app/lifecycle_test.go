package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// testResources is a stack of resources released when the test ends.
func testResources(t *testing.T) *resources {
	t.Helper()
	res := &resources{}
	t.Cleanup(func() {
		if err := res.release(); err != nil {
			t.Errorf("release: %v", err)
		}
	})
	return res
}

// startConfig is a configuration that opens every kind of resource at
// start: the store, Redis clients for the rate limiter and the event sink
// (each connecting at once), a NATS connection, an OTLP exporter, the
// event bus and relay, a CIBA webhook notifier.
func startConfig(t *testing.T, databaseURL, redisURL, natsURL, otlp, kek string) *config.Config {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("min_idle_conns", "1")
	u.RawQuery = q.Encode()
	vars := map[string]string{
		"OAUTH2_ISSUER":              "http://127.0.0.1:8080",
		"OAUTH2_DATABASE_URL":        databaseURL,
		"OAUTH2_KEY_ENCRYPTION_KEY":  kek,
		"OAUTH2_LOG_LEVEL":           "error",
		"OAUTH2_SHUTDOWN_DRAIN":      "0",
		"OAUTH2_REDIS_URL":           u.String(),
		"OAUTH2_NATS_URL":            natsURL,
		"OAUTH2_EVENT_SINKS":         "log,redis,nats",
		"OAUTH2_OTLP_ENDPOINT":       otlp,
		"OAUTH2_CIBA_NOTIFIER":       "webhook",
		"OAUTH2_CIBA_WEBHOOK_URL":    "http://127.0.0.1:9/ciba",
		"OAUTH2_CIBA_WEBHOOK_SECRET": "a-secret-of-sixteen-or-more",
	}
	cfg, err := config.Load("", false, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// openFiles lists the files, sockets included, the process holds open,
// by descriptor.
func openFiles(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("open files cannot be listed here: %v", err)
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			files[e.Name()] = target
		}
	}
	return files
}

// opened lists the files open now that were not in before.
func opened(t *testing.T, before map[string]string) []string {
	t.Helper()
	var out []string
	for fd, target := range openFiles(t) {
		if before[fd] != target {
			out = append(out, fd+" -> "+target)
		}
	}
	slices.Sort(out)
	return out
}

// postgresConnections counts the connections PostgreSQL holds for the
// application named name.
func postgresConnections(t *testing.T, base, name string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually polls count until it is zero or a few seconds have passed:
// a server sees a client's connection end a moment after it closed it.
func eventually(count func() int) int {
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := count()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartUpReleasesWhatItOpened makes each step of the start fail in
// turn, after everything before it has opened its connections and
// goroutines, and checks that the failed start leaves none of them
// behind: no goroutine, no open file or connection, no connection the
// database still counts. A start that succeeds leaves none either once
// the server is closed.
func TestStartUpReleasesWhatItOpened(t *testing.T) {
	redisURL := testService(t, "OAUTH2_TEST_REDIS_URL")
	natsURL := testService(t, "OAUTH2_TEST_NATS_URL")
	// The OTLP exporter keeps its connections in a transport of its own,
	// shared by every exporter of the process, which its shutdown leaves
	// alone: the collector closes each one instead.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
	}))
	t.Cleanup(collector.Close)

	type backend struct {
		name string
		// url returns a fresh database whose connections are named
		// name, and a count of those connections, nil where the
		// database server cannot be asked.
		url func(t *testing.T, name string) (string, func() int)
	}
	backends := []backend{{"sqlite", func(t *testing.T, _ string) (string, func() int) {
		return "sqlite:" + filepath.Join(t.TempDir(), "oauth2.db"), nil
	}}}
	if base := os.Getenv("OAUTH2_TEST_POSTGRES_URL"); base != "" {
		backends = append(backends, backend{"postgres", func(t *testing.T, name string) (string, func() int) {
			u, err := url.Parse(postgresSchema(t, base))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("application_name", name)
			u.RawQuery = q.Encode()
			return u.String(), func() int { return postgresConnections(t, base, name) }
		}})
	}

	otherKEK := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name string
		// prepare runs before the start, on the configuration the start
		// then uses; it may itself start the server once.
		prepare func(t *testing.T, cfg *config.Config)
		// wantErr is part of the failed start's error, naming the step.
		wantErr string
		// started is set when the start must succeed: the server is
		// then closed before the check, after serving when served is
		// set too.
		started, served bool
	}{
		{name: "the database refuses connections", wantErr: "127.0.0.1", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.Store.URL = "postgres://oauth2@127.0.0.1:1/oauth2?connect_timeout=2"
		}},
		{name: "the signing keys were sealed under another key-encryption key", wantErr: "keyset", prepare: func(t *testing.T, cfg *config.Config) {
			vars := map[string]string{"OAUTH2_ISSUER": cfg.Server.Issuer, "OAUTH2_DATABASE_URL": cfg.Store.URL, "OAUTH2_KEY_ENCRYPTION_KEY": otherKEK, "OAUTH2_EVENT_SINKS": "none"}
			sealer, err := config.Load("", false, func(k string) string { return vars[k] })
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(t.Context(), sealer, quietLog(), nil)
			if err != nil {
				t.Fatalf("start under the other key: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "the Redis URL does not parse", wantErr: "OAUTH2_REDIS_URL", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.Redis.URL = "redis://127.0.0.1:port"
		}},
		{name: "an event sink cannot be built", wantErr: "webhook: URL", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.Events.Sinks = append(cfg.Events.Sinks, "webhook")
			cfg.Events.WebhookURL = "ftp://127.0.0.1/events"
		}},
		{name: "the CIBA notifier cannot be built", wantErr: "cibanotify: webhook secret", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.CIBA.WebhookSecret = "short"
		}},
		{name: "the engine refuses its settings", wantErr: "AccessTokenAlg", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.Tokens.AccessTokenAlg = "none"
		}},
		{name: "the router refuses its settings", wantErr: "client certificate header", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.TLS.ClientCertHeader, cfg.Server.TrustedProxies = "X-Client-Cert", nil
		}},
		{name: "the janitor refuses its interval", wantErr: "janitor: interval", prepare: func(t *testing.T, cfg *config.Config) {
			cfg.Store.JanitorInterval = 0
		}},
		{name: "a server that started, once closed", started: true, prepare: func(*testing.T, *config.Config) {}},
		{name: "a server that served, once shut down and closed", started: true, served: true, prepare: func(*testing.T, *config.Config) {}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					name := "starttest-" + strings.ToLower(rand.Text()[:10])
					dbURL, dbConnections := b.url(t, name)
					kek := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
					cfg := startConfig(t, dbURL, redisURL, natsURL, collector.URL, kek)
					tt.prepare(t, cfg)
					goroutines, files := goleak.IgnoreCurrent(), openFiles(t)

					a, err := New(t.Context(), cfg, quietLog(), nil)
					switch {
					case tt.started && err != nil:
						t.Fatalf("start: %v", err)
					case tt.started:
						if tt.served {
							serveBriefly(t, a)
						}
						if err := a.Close(); err != nil {
							t.Errorf("close: %v", err)
						}
					case err == nil:
						_ = a.Close()
						t.Fatal("the start succeeded; the test expects it to fail")
					case !strings.Contains(err.Error(), tt.wantErr):
						t.Errorf("the start failed with %q, want the step that says %q", err, tt.wantErr)
					}

					if err := goleak.Find(goroutines); err != nil {
						t.Errorf("goroutines left running: %v", err)
					}
					var left []string
					eventually(func() int { left = opened(t, files); return len(left) })
					if len(left) > 0 {
						t.Errorf("files and connections left open: %v", left)
					}
					if dbConnections != nil {
						if n := eventually(dbConnections); n != 0 {
							t.Errorf("%d database connections left open", n)
						}
					}
				})
			}
		})
	}
}

// serveBriefly serves a until it has answered a request, then shuts it
// down as SIGTERM does and waits for Serve to return.
func serveBriefly(t *testing.T, a *App) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, shutdown := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/.well-known/openid-configuration")
	if err != nil {
		t.Errorf("GET discovery: %v", err)
	} else {
		resp.Body.Close()
	}
	shutdown()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestShutdownEndsLogoutRetries: a relying party goes down while the
// server shuts down. Its back-channel logout delivery, whose attempt in
// flight fails, is reported as failed at once instead of retried, and the
// server stops without waiting out the pauses and timeouts of the
// retries (about 18 s here, nearly the whole shutdown budget).
func TestShutdownEndsLogoutRetries(t *testing.T) {
	var calls atomic.Int32
	first, release, down := make(chan struct{}), make(chan struct{}), make(chan struct{})
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(first)
			<-release
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		// Down for good: a retry waits out the server's client timeout.
		select {
		case <-down:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(rp.Close)
	t.Cleanup(func() { close(down) })

	vars := map[string]string{
		"OAUTH2_ISSUER":                    "http://127.0.0.1:8080",
		"OAUTH2_DATABASE_URL":              "sqlite:" + filepath.Join(t.TempDir(), "oauth2.db"),
		"OAUTH2_KEY_ENCRYPTION_KEY":        base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"OAUTH2_EVENT_SINKS":               "none",
		"OAUTH2_SHUTDOWN_DRAIN":            "0",
		"OAUTH2_OUTBOUND_PRIVATE_NETWORKS": "127.0.0.0/8",
		"OAUTH2_ALLOW_LOCAL_OUTBOUND":      "1",
	}
	cfg, err := config.Load("", false, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	a, err := New(ctx, cfg, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	sess := signedInAt(t, a, rp.URL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, shutdown := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(serveCtx, ln) }()
	if _, err := a.Provider.Logout(ctx, sess); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("the relying party was not told of the logout within 10 s")
	}
	shutdown()
	// The relying party fails its first delivery once the listener has
	// closed: the shutdown has begun.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener is still open 10 s after the shutdown began")
		}
	}
	close(release)
	failed := time.Now()

	const bound = 5 * time.Second
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("the server did not stop within its shutdown budget")
	}
	t.Run("the server stops without retrying the delivery", func(t *testing.T) {
		if took := time.Since(failed); took > bound {
			t.Errorf("the server stopped %v after the delivery failed, want within %v", took, bound)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("the relying party was asked %d times, want once", n)
		}
	})
	t.Run("the failed delivery is counted", func(t *testing.T) {
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		want := `oauth2_backchannel_logout_deliveries_total{outcome="failure"} 1`
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	})
}

// signedInAt registers a relying party whose back-channel logout endpoint
// is uri, and returns a session of a new user in which it holds a refresh
// token.
func signedInAt(t *testing.T, a *App, uri string) *ports.Session {
	t.Helper()
	ctx := t.Context()
	c := &ports.Client{ID: "rp", Tenant: ports.DefaultTenant, Metadata: []byte(`{"backchannel_logout_uri":"` + uri + `"}`)}
	if err := a.Store.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	u, err := a.Provider.AddUser(ctx, core.NewUser{Username: "ada", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	sess := &ports.Session{ID: "session-1", Tenant: ports.DefaultTenant, UserID: u.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := a.Store.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.CreateTokens(ctx, []*ports.Token{{ID: "token-1", Tenant: ports.DefaultTenant, Kind: ports.TokenRefresh,
		ClientID: c.ID, Subject: u.ID, SessionID: sess.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	return sess
}
