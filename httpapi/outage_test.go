package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// downGuard is a failure guard whose backend does not answer.
type downGuard struct{}

var errGuardDown = errors.New("redis: connection refused")

func (downGuard) Blocked(context.Context, ...string) (bool, time.Duration, error) {
	return false, 0, errGuardDown
}

func (downGuard) RecordFailure(context.Context, ...string) error { return errGuardDown }

// TestOutagesAreNotLoggedPerRequest: while a dependency is down every
// request meets it; the outage is the dependency's to report once, and a
// line per request at the operator's log level would bury everything
// else.
func TestOutagesAreNotLoggedPerRequest(t *testing.T) {
	tests := []struct {
		name    string
		request func(h *handlers)
	}{
		{"the failure guard's backend is down", func(h *handlers) {
			r := httptest.NewRequest("POST", "/login", nil)
			if blocked, _ := h.blocked(r, []string{"ip:192.0.2.1", "alice"}); blocked {
				t.Fatal("a guard that cannot answer must let the request through")
			}
			h.recordFailure(r, []string{"ip:192.0.2.1", "alice"})
		}},
		{"the store is unavailable", func(h *handlers) {
			r := httptest.NewRequest("POST", "/oauth/token", nil)
			e := h.logged(r, fmt.Errorf("store: %w", ports.ErrUnavailable))
			if e.Code != core.ErrTemporarilyUnavailable.Code {
				t.Fatalf("code = %q, want temporarily_unavailable", e.Code)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := &handlers{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), guard: downGuard{}}
			for range 200 {
				tt.request(h)
			}
			if n := strings.Count(buf.String(), "\n"); n != 0 {
				t.Fatalf("200 requests during an outage wrote %d log lines at info or above:\n%.500s", n, buf.String())
			}
		})
	}
}
