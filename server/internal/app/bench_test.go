package app

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"oauth2-server.dev/config"
)

// BenchmarkTokenEndpoint times a client_credentials token request through
// the whole handler chain of a composed server on SQLite, with every
// middleware on (rate limits included, with budgets above what the
// benchmark sends): what a request costs the server once its bytes are
// read, without the network. Concurrent, as a busy endpoint is.
func BenchmarkTokenEndpoint(b *testing.B) {
	vars := map[string]string{
		"OAUTH2_ISSUER":                  "http://127.0.0.1:8080",
		"OAUTH2_DATABASE_URL":            "sqlite:" + filepath.Join(b.TempDir(), "oauth2.db"),
		"OAUTH2_KEY_ENCRYPTION_KEY":      base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"OAUTH2_LOG_LEVEL":               "warn",
		"OAUTH2_EVENT_SINKS":             "none",
		"OAUTH2_RATE_LIMIT_TOKEN":        "1000000/s:1000000",
		"OAUTH2_KEY_ROTATION_INTERVAL":   "0",
		"OAUTH2_RATE_LIMIT_INTERACTIVE":  "1000/s:1000",
		"OAUTH2_RATE_LIMIT_REGISTRATION": "1000/s:1000",
	}
	cfg, err := config.Load("", false, func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	const secret = "bench-secret-0123456789abcdef"
	if _, err := a.Provider.EnsureClient(ctx, "bench", secret, []byte(`{"grant_types":["client_credentials"],"scope":"api:read"}`)); err != nil {
		b.Fatal(err)
	}
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}.Encode()
	b.ReportAllocs()
	b.SetParallelism(16)
	cpu0 := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("bench", secret)
			rec := httptest.NewRecorder()
			a.Handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	// CPU time per request, the server's own work whatever else the
	// machine is doing (the load loop's share included).
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if ws, ok := a.Store.(interface{ WriteStats() (int64, int64) }); ok {
		if commits, changes := ws.WriteStats(); commits > 0 {
			b.ReportMetric(float64(changes)/float64(commits), "changes/commit")
		}
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
